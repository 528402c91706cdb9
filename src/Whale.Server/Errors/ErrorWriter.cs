using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Whale.Server.Errors;

/// <summary>Writes OpenAI-shaped error bodies (and the same object as an SSE event mid-stream).</summary>
internal static class ErrorWriter
{
    public static void WriteError(Utf8JsonWriter w, string message, string type, string? param, string code)
    {
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("message", message);
        w.WriteString("type", type);
        if (param is null) w.WriteNull("param"); else w.WriteString("param", param);
        w.WriteString("code", code);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static byte[] Serialize(ApiException e)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })) WriteError(w, e.Message, e.Type, e.Param, e.Code);
        return ms.ToArray();
    }

    public static async Task WriteAsync(HttpContext context, ApiException e)
    {
        if (context.Response.HasStarted) return;
        context.Response.StatusCode = e.Status;
        context.Response.ContentType = "application/json";
        if (e.Status == 429) context.Response.Headers.RetryAfter = "1";
        await context.Response.Body.WriteAsync(Serialize(e), context.RequestAborted).ConfigureAwait(false);
    }
}
