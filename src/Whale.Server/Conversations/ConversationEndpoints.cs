using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Whale.Server.Endpoints;
using Whale.Server.Errors;

namespace Whale.Server.Conversations;

/// <summary>
/// <c>/api/conversations</c>: the chat page's conversations, stored per API key (see <see cref="Owner"/>).
/// Errors have the OpenAI shape; another key's conversation is a 404.
/// </summary>
internal sealed class ConversationEndpoints(ConversationStore store, WhaleServerOptions options)
{
    public const int MaxTitleLength = 200;
    public const int MaxSettingsBytes = 64 << 10;
    private static readonly string[] Roles = ["user", "assistant", "system"];

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/conversations", ListAsync);
        app.MapPost("/api/conversations", CreateAsync);
        app.MapGet("/api/conversations/{id}", GetAsync);
        app.MapPatch("/api/conversations/{id}", UpdateAsync);
        app.MapDelete("/api/conversations/{id}", DeleteAsync);
        app.MapPost("/api/conversations/{id}/messages", AddMessageAsync);
        app.MapDelete("/api/conversations/{id}/messages", TruncateAsync);
    }

    /// <summary>The owner of the request's conversations: the SHA-256 (hex) of its API key; "" when the server has no keys.</summary>
    public static string Owner(HttpContext context) => context.Items[ApiKeyMiddleware.OwnerItem] as string ?? "";

    private Task ListAsync(HttpContext context) => Guarded(context, async () =>
    {
        string? q = context.Request.Query["q"].ToString();
        if (q.Length > 200) throw ApiException.Invalid("q", "the search text is longer than 200 characters");
        var list = store.List(Owner(context), q.Trim());
        await WriteAsync(context, 200, w =>
        {
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var c in list)
            {
                w.WriteStartObject();
                w.WriteString("id", c.Id);
                w.WriteString("title", c.Title);
                if (c.Model is null) w.WriteNull("model"); else w.WriteString("model", c.Model);
                w.WriteNumber("created_at", c.CreatedAt);
                w.WriteNumber("updated_at", c.UpdatedAt);
                w.WriteNumber("message_count", c.MessageCount);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
    });

    private Task CreateAsync(HttpContext context) => Guarded(context, async () =>
    {
        using var doc = await BodyAsync(context, allowEmpty: true).ConfigureAwait(false);
        var root = doc?.RootElement;
        string title = root is { } r1 ? Title(r1, required: false) ?? "New chat" : "New chat";
        string? model = root is { } r2 ? OptionalString(r2, "model", 200) : null;
        string settings = root is { } r3 ? Settings(r3) ?? "{}" : "{}";
        var c = store.Create(Owner(context), title, model, settings);
        context.Response.Headers.Location = "/api/conversations/" + c.Id;
        await WriteAsync(context, 201, w => WriteConversation(w, c)).ConfigureAwait(false);
    });

    private Task GetAsync(HttpContext context) => Guarded(context, async () =>
    {
        var c = store.Get(Owner(context), Id(context)) ?? throw NotFound(context);
        await WriteAsync(context, 200, w => WriteConversation(w, c)).ConfigureAwait(false);
    });

    private Task UpdateAsync(HttpContext context) => Guarded(context, async () =>
    {
        using var doc = await BodyAsync(context, allowEmpty: false).ConfigureAwait(false);
        var root = doc!.RootElement;
        string? title = Title(root, required: false);
        string? model = OptionalString(root, "model", 200);
        string? settings = Settings(root);
        string owner = Owner(context), id = Id(context);
        if (!store.Update(owner, id, title, model, settings)) throw NotFound(context);
        var c = store.Get(owner, id) ?? throw NotFound(context);
        await WriteAsync(context, 200, w => WriteConversation(w, c)).ConfigureAwait(false);
    });

    private Task DeleteAsync(HttpContext context) => Guarded(context, () =>
    {
        if (!store.Delete(Owner(context), Id(context))) throw NotFound(context);
        context.Response.StatusCode = 204;
        return Task.CompletedTask;
    });

    private Task AddMessageAsync(HttpContext context) => Guarded(context, async () =>
    {
        using var doc = await BodyAsync(context, allowEmpty: false).ConfigureAwait(false);
        var root = doc!.RootElement;
        string role = RequiredString(root, "role");
        if (!Roles.Contains(role, StringComparer.Ordinal)) throw ApiException.Invalid("role", $"role must be one of {string.Join(", ", Roles)}");
        string content = root.TryGetProperty("content", out var ce) && ce.ValueKind == JsonValueKind.String ? ce.GetString()!
            : throw ApiException.BadRequest("'content' is required and must be a string", "content");
        string? reasoning = OptionalString(root, "reasoning", int.MaxValue);
        string? meta = null;
        if (root.TryGetProperty("meta", out var me) && me.ValueKind != JsonValueKind.Null)
        {
            if (me.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'meta' must be an object", "meta");
            meta = me.GetRawText();
            if (meta.Length > MaxSettingsBytes) throw ApiException.Invalid("meta", "'meta' is too large");
        }
        var m = store.AddMessage(Owner(context), Id(context), role, content, reasoning, meta) ?? throw NotFound(context);
        await WriteAsync(context, 201, w => WriteMessage(w, m)).ConfigureAwait(false);
    });

    private Task TruncateAsync(HttpContext context) => Guarded(context, async () =>
    {
        string from = context.Request.Query["from"].ToString();
        if (!long.TryParse(from, NumberStyles.None, CultureInfo.InvariantCulture, out long fromId))
            throw ApiException.BadRequest("'from' (the id of the first message to delete) is required: DELETE /api/conversations/{id}/messages?from=ID", "from");
        int deleted = store.Truncate(Owner(context), Id(context), fromId) ?? throw NotFound(context);
        await WriteAsync(context, 200, w => w.WriteNumber("deleted", deleted)).ConfigureAwait(false);
    });

    private static string Id(HttpContext context)
    {
        string id = context.Request.RouteValues["id"]?.ToString() ?? "";
        return id.Length is > 0 and <= 64 ? id : throw NotFound(context);
    }

    private static ApiException NotFound(HttpContext context) =>
        new(404, $"conversation '{context.Request.RouteValues["id"]}' not found", "id", "conversation_not_found");

    private static string? Title(JsonElement root, bool required)
    {
        if (!root.TryGetProperty("title", out var t) || t.ValueKind == JsonValueKind.Null)
            return required ? throw ApiException.BadRequest("'title' is required", "title") : null;
        if (t.ValueKind != JsonValueKind.String) throw ApiException.BadRequest("'title' must be a string", "title");
        string title = string.Join(' ', t.GetString()!.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (title.Length == 0) throw ApiException.Invalid("title", "'title' must not be empty");
        if (title.Length > MaxTitleLength) throw ApiException.Invalid("title", $"'title' is longer than {MaxTitleLength} characters");
        return title;
    }

    private static string RequiredString(JsonElement root, string name) =>
        root.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString()!
            : throw ApiException.BadRequest($"'{name}' is required and must be a string", name);

    private static string? OptionalString(JsonElement root, string name, int maxLength)
    {
        if (!root.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind != JsonValueKind.String) throw ApiException.BadRequest($"'{name}' must be a string", name);
        string s = e.GetString()!;
        return s.Length <= maxLength ? s : throw ApiException.Invalid(name, $"'{name}' is longer than {maxLength} characters");
    }

    private static string? Settings(JsonElement root)
    {
        if (!root.TryGetProperty("settings", out var e) || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'settings' must be an object", "settings");
        string raw = e.GetRawText();
        return raw.Length <= MaxSettingsBytes ? raw : throw ApiException.Invalid("settings", "'settings' is too large");
    }

    private async Task<JsonDocument?> BodyAsync(HttpContext context, bool allowEmpty)
    {
        var body = await BodyReader.ReadAsync(context, options.MaxRequestBodyBytes).ConfigureAwait(false);
        if (body.Length == 0)
            return allowEmpty ? null : throw ApiException.BadRequest("the request body is empty; expected a JSON object");
        if (!System.Text.Unicode.Utf8.IsValid(body)) throw ApiException.BadRequest("Invalid request body: the text is not valid UTF-8");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"Invalid request body: malformed JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw ApiException.BadRequest("the request body must be a JSON object");
        }
        return doc;
    }

    private static async Task Guarded(HttpContext context, Func<Task> handler)
    {
        try
        {
            await handler().ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            await ErrorWriter.WriteAsync(context, e).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            await ErrorWriter.WriteAsync(context, new ApiException(500, "conversation store failed: " + e.Message)).ConfigureAwait(false);
        }
    }

    private static void WriteConversation(Utf8JsonWriter w, StoredConversation c)
    {
        w.WriteString("id", c.Id);
        w.WriteString("object", "conversation");
        w.WriteString("title", c.Title);
        if (c.Model is null) w.WriteNull("model"); else w.WriteString("model", c.Model);
        w.WritePropertyName("settings");
        w.WriteRawValue(c.Settings, skipInputValidation: true);
        w.WriteNumber("created_at", c.CreatedAt);
        w.WriteNumber("updated_at", c.UpdatedAt);
        w.WriteStartArray("messages");
        foreach (var m in c.Messages)
        {
            w.WriteStartObject();
            WriteMessage(w, m);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteMessage(Utf8JsonWriter w, StoredMessage m)
    {
        w.WriteNumber("id", m.Id);
        w.WriteString("role", m.Role);
        w.WriteString("content", m.Content);
        if (m.Reasoning is null) w.WriteNull("reasoning"); else w.WriteString("reasoning", m.Reasoning);
        w.WritePropertyName("meta");
        if (m.Meta is null) w.WriteNullValue(); else w.WriteRawValue(m.Meta, skipInputValidation: true);
        w.WriteNumber("created_at", m.CreatedAt);
    }

    private static async Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> body)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
