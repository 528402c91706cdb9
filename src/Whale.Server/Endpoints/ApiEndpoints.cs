using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Whale.Engine;
using Whale.Server.Contracts;
using Whale.Server.Errors;
using Whale.Server.Generation;
using Whale.Server.Hosting;
using Whale.Server.Metrics;

namespace Whale.Server.Endpoints;

/// <summary>The routes: OpenAI paths under /v1, the same without /v1 (DeepSeek), /beta for DeepSeek's beta features.</summary>
internal sealed class ApiEndpoints(ModelRegistry registry, GenerationRunner runner, WhaleServerOptions options, ServerMetrics metrics)
{
    public void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "", "/v1", "/beta" })
        {
            app.MapPost(prefix + "/chat/completions", ChatAsync);
            app.MapPost(prefix + "/completions", CompletionsAsync);
            app.MapGet(prefix + "/models", ModelsAsync);
            app.MapGet(prefix + "/models/{id}", ModelAsync);
        }
        app.MapGet("/health", HealthAsync);
        app.MapGet("/metrics", MetricsAsync);
        app.MapFallback(context => ErrorWriter.WriteAsync(context, new ApiException(404,
            $"no route for {context.Request.Method} {context.Request.Path}; see /v1/chat/completions, /v1/completions, /v1/models")));
    }

    private Task ChatAsync(HttpContext context) => Guarded(context, async (body, arrived) =>
    {
        var dto = ApiJson.Parse<ChatCompletionRequestDto>(body);
        var model = registry.Resolve(dto.Model);
        if (dto.TopLogprobs is { } top && (top < 0 || top > 20)) throw ApiException.Invalid("top_logprobs", "top_logprobs must be between 0 and 20");
        if (dto.TopLogprobs is not null && dto.Logprobs != true) throw ApiException.Invalid("top_logprobs", "top_logprobs requires logprobs: true");
        var structured = StructuredOutput.From(dto, PromptBuilder.Template(model.Model, model.Id).Kind);
        var (tokens, opensThinking) = PromptBuilder.Chat(model.Model, model.Id, dto.Messages, structured.Tools);
        CheckContext(tokens.Length, model);
        var generation = SamplingMapper.Options(dto, model, options, dto.MaxCompletionTokens ?? dto.MaxTokens, 4096) with
        {
            PromptOpensThinking = opensThinking,
            ParseReasoning = true,
            TopLogprobs = dto.Logprobs == true ? dto.TopLogprobs ?? 0 : null,
            RenderSpecialTokens = structured.ParseSyntax is not null,
            Constraint = structured.Grammar is not null ? () => structured.CreateConstraint(model.Model.Tokenizer) : null,
        };
        var request = new PreparedRequest(model, Engine(tokens, generation, dto), Chat: true, Stream: dto.Stream == true)
        {
            IncludeUsage = dto.StreamOptions?.IncludeUsage == true,
            ReasoningExpected = opensThinking,
            Logprobs = dto.Logprobs == true,
            ToolSyntax = structured.ParseSyntax,
        };
        await runner.RunAsync(context, request, arrived).ConfigureAwait(false);
        return model.Id;
    });

    private Task CompletionsAsync(HttpContext context) => Guarded(context, async (body, arrived) =>
    {
        var dto = ApiJson.Parse<CompletionRequestDto>(body);
        var model = registry.Resolve(dto.Model);
        if (dto.Logprobs is { } lp && (lp < 0 || lp > 20)) throw ApiException.Invalid("logprobs", "logprobs must be between 0 and 20");
        var (tokens, text) = PromptBuilder.Completion(model.Model, dto.Prompt, dto.Suffix);
        CheckContext(tokens.Length, model);
        var generation = SamplingMapper.Options(dto, model, options, dto.MaxTokens, 16) with
        {
            ParseReasoning = false,
            TopLogprobs = dto.Logprobs,
        };
        var request = new PreparedRequest(model, Engine(tokens, generation, dto), Chat: false, Stream: dto.Stream == true)
        {
            IncludeUsage = dto.StreamOptions?.IncludeUsage == true,
            Logprobs = dto.Logprobs is not null,
            Echo = dto.Echo == true ? text ?? model.Model.Tokenizer.Decode(tokens) : null,
        };
        await runner.RunAsync(context, request, arrived).ConfigureAwait(false);
        return model.Id;
    });

    private EngineRequest Engine(int[] tokens, GenerationOptions generation, SamplingRequestDto dto) =>
        new(tokens, generation) { N = SamplingMapper.Choices(dto, options), CacheKey = SamplingMapper.CacheKey(dto) };

    private async Task ModelsAsync(HttpContext context)
    {
        await JsonAsync(context, w =>
        {
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (var m in registry.Models) WriteModel(w, m);
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private async Task ModelAsync(HttpContext context)
    {
        string id = context.Request.RouteValues["id"]?.ToString() ?? "";
        if (registry.Find(id) is not { } m)
        {
            await ErrorWriter.WriteAsync(context, new ApiException(404, $"Model Not Exist: '{id}'", "model", "model_not_found")).ConfigureAwait(false);
            return;
        }
        await JsonAsync(context, w => ModelFields(w, m)).ConfigureAwait(false);
    }

    private async Task HealthAsync(HttpContext context)
    {
        bool ok = !registry.Draining;
        context.Response.StatusCode = ok ? 200 : 503;
        await JsonAsync(context, w => w.WriteString("status", ok ? "ok" : "shutting_down")).ConfigureAwait(false);
    }

    private async Task MetricsAsync(HttpContext context)
    {
        context.Response.ContentType = PrometheusText.ContentType;
        await context.Response.WriteAsync(metrics.Export(registry.Models), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Reads the body and runs a generation handler; every failure becomes an OpenAI-shaped error.</summary>
    private async Task Guarded(HttpContext context, Func<byte[], long, Task<string>> handler)
    {
        long arrived = Stopwatch.GetTimestamp();
        try
        {
            if (registry.Draining) throw new ApiException(503, "Server Overloaded: the server is shutting down");
            var body = await BodyReader.ReadAsync(context, options.MaxRequestBodyBytes).ConfigureAwait(false);
            await handler(body, arrived).ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            metrics.Error(ModelName(context), e.Status);
            await ErrorWriter.WriteAsync(context, e).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // the client went away
        }
        catch (Exception e)
        {
            metrics.Error(ModelName(context), 500);
            await ErrorWriter.WriteAsync(context, new ApiException(500, "internal error: " + e.Message)).ConfigureAwait(false);
        }
    }

    private string ModelName(HttpContext context) => registry.Models.Count == 1 ? registry.Models[0].Id : "";

    private static void CheckContext(int promptTokens, ServedModel model)
    {
        int ctx = model.Engine.ContextSize;
        if (promptTokens >= ctx)
            throw ApiException.BadRequest($"This model's maximum context length is {ctx} tokens. However, your prompt has {promptTokens} tokens. Please reduce the length of the messages.",
                "messages", "context_length_exceeded");
    }

    private static void WriteModel(Utf8JsonWriter w, ServedModel m)
    {
        w.WriteStartObject();
        ModelFields(w, m);
        w.WriteEndObject();
    }

    private static void ModelFields(Utf8JsonWriter w, ServedModel m)
    {
        w.WriteString("id", m.Id);
        w.WriteString("object", "model");
        w.WriteNumber("created", m.Created);
        w.WriteString("owned_by", "whale");
        w.WriteNumber("context_length", m.Engine.ContextSize);
        // Extensions for the chat page: can it chat (has a template), does it reason (<think>), and can the reasoning
        // be turned off (thinking: disabled closes the block at once).
        bool chat = CanChat(m);
        bool reasoning = chat && m.Model.ChatTemplate.GenerationPromptOpensThinking;
        w.WriteBoolean("chat", chat);
        w.WriteBoolean("reasoning", reasoning);
        w.WriteBoolean("thinking_toggle", reasoning);
    }

    private static bool CanChat(ServedModel m)
    {
        try
        {
            _ = m.Model.ChatTemplate;
            return true;
        }
        catch (NotSupportedException)
        {
            return false;
        }
    }

    private static async Task JsonAsync(HttpContext context, Action<Utf8JsonWriter> body)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
