using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Whale.Constraints;
using Whale.Engine;
using Whale.Sampling;
using Whale.Tools;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AIChatRole = Microsoft.Extensions.AI.ChatRole;
using WhaleChatMessage = Whale.Tokenization.ChatMessage;
using WhaleChatRole = Whale.Tokenization.ChatRole;

namespace Whale.AI;

/// <summary>
/// A Microsoft.Extensions.AI <see cref="IChatClient"/> over a loaded model, in-process: streaming, reasoning as
/// <see cref="TextReasoningContent"/>, usage (cached prompt tokens in <see cref="UsageDetails.CachedInputTokenCount"/>
/// and <c>AdditionalCounts["CachedInputTokens"]</c>), JSON output (<see cref="ChatResponseFormat.Json"/> and
/// JSON schemas, enforced by constrained decoding), and tools (<see cref="FunctionCallContent"/> out,
/// <see cref="FunctionResultContent"/> in; works with <c>UseFunctionInvocation()</c>). <see cref="ChatOptions.ToolMode"/>
/// required constrains the answer to a schema-valid call. <c>AdditionalProperties["thinking_budget"]</c> (int) caps
/// reasoning tokens.
/// </summary>
public sealed class WhaleChatClient : IChatClient
{
    private readonly WhaleModel _model;
    private readonly IInferenceEngine _engine;
    private readonly bool _ownsEngine;
    private readonly string _modelId;

    /// <summary>A client over <paramref name="engine"/> serving <paramref name="model"/>.</summary>
    public WhaleChatClient(WhaleModel model, IInferenceEngine engine, string? modelId = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _modelId = modelId ?? Path.GetFileNameWithoutExtension(model.File.Path);
    }

    /// <summary>A client with its own serial engine over <paramref name="model"/> (disposed with the client).</summary>
    public WhaleChatClient(WhaleModel model, SerialEngineOptions? engineOptions = null, string? modelId = null)
        : this(model, new SerialEngine(model, engineOptions), modelId) => _ownsEngine = true;

    /// <summary>Default output-token limit when <see cref="ChatOptions.MaxOutputTokens"/> is not set.</summary>
    public int DefaultMaxOutputTokens { get; init; } = 2048;

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AIChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AIChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var template = _model.ChatTemplate;
        var (tools, grammar, trigger) = Structured(options, template.Kind);
        var syntax = ToolCallSyntax.For(template.Kind);
        IReadOnlyList<WhaleChatMessage> converted = Convert(messages);
        if (tools.Count > 0) converted = ToolPrompt.AddTools(converted, tools, template.Kind);
        var prompt = _model.TokenizeChat(converted);
        int? budget = options?.AdditionalProperties?.TryGetValue("thinking_budget", out object? b) == true && b is not null ? System.Convert.ToInt32(b, System.Globalization.CultureInfo.InvariantCulture) : null;
        var generation = new GenerationOptions
        {
            Sampling = new SamplingParams
            {
                Temperature = options?.Temperature ?? 0.6f,
                TopP = options?.TopP ?? 0.95f,
                TopK = options?.TopK ?? 0,
                FrequencyPenalty = options?.FrequencyPenalty ?? 0,
                PresencePenalty = options?.PresencePenalty ?? 0,
                Seed = options?.Seed is { } seed ? unchecked((ulong)seed) : null,
            },
            MaxTokens = options?.MaxOutputTokens ?? DefaultMaxOutputTokens,
            Stop = options?.StopSequences?.ToArray() ?? [],
            PromptOpensThinking = template.GenerationPromptOpensThinking,
            ThinkingBudget = budget,
            RenderSpecialTokens = tools.Count > 0,
            Constraint = grammar is null ? null
                : trigger is not null ? () => grammar.CreateTriggeredConstraint(_model.Tokenizer, trigger, renderSpecialTokens: true)
                : () => grammar.CreateConstraint(_model.Tokenizer, tools.Count > 0),
        };
        var reader = _engine.Submit(new EngineRequest(prompt, generation), cancellationToken);
        string responseId = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow;
        var parser = tools.Count > 0 ? new ToolCallParser(syntax) : null;
        bool anyCalls = false;
        await foreach (var ev in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            var t = ev.Token;
            var contents = new List<AIContent>();
            if (t.Reasoning.Length > 0) contents.Add(new TextReasoningContent(t.Reasoning));
            string text = t.Content;
            IReadOnlyList<Tokenization.ChatToolCall> calls = [];
            if (parser is not null)
            {
                (text, calls) = parser.Push(t.Content);
                if (t.IsFinal)
                {
                    var (rest, last) = parser.Flush();
                    text += rest;
                    calls = [.. calls, .. last];
                }
            }
            if (text.Length > 0) contents.Add(new TextContent(text));
            foreach (var call in calls)
            {
                anyCalls = true;
                contents.Add(new FunctionCallContent(call.Id, call.Name, Arguments(call.ArgumentsJson)));
            }
            ChatFinishReason? finish = null;
            if (t.IsFinal)
            {
                finish = anyCalls && t.FinishReason == "stop" ? ChatFinishReason.ToolCalls
                    : t.FinishReason == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop;
                if (ev.Usage is { } u)
                {
                    var usage = new UsageDetails
                    {
                        InputTokenCount = u.PromptTokens,
                        OutputTokenCount = u.CompletionTokens,
                        TotalTokenCount = u.PromptTokens + u.CompletionTokens,
                        CachedInputTokenCount = u.CachedPromptTokens,
                        ReasoningTokenCount = u.ReasoningTokens,
                        AdditionalCounts = new() { ["CachedInputTokens"] = u.CachedPromptTokens, ["ReasoningTokens"] = u.ReasoningTokens },
                    };
                    contents.Add(new UsageContent(usage));
                }
            }
            if (contents.Count == 0 && finish is null) continue;
            yield return new ChatResponseUpdate(AIChatRole.Assistant, contents)
            {
                ResponseId = responseId,
                MessageId = responseId,
                ModelId = _modelId,
                CreatedAt = created,
                FinishReason = finish,
            };
        }
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return new ChatClientMetadata("whale", null, _modelId);
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType.IsInstanceOfType(_model)) return _model;
        if (serviceType.IsInstanceOfType(_engine)) return _engine;
        return null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsEngine) _engine.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private static (IReadOnlyList<ToolDefinition> Tools, JsonGrammar? Grammar, string? Trigger) Structured(ChatOptions? options, Tokenization.ChatTemplateKind kind)
    {
        JsonGrammar? grammar = options?.ResponseFormat switch
        {
            ChatResponseFormatJson { Schema: { } schema } => JsonGrammar.FromSchema(schema),
            ChatResponseFormatJson => JsonGrammar.AnyObject,
            _ => null,
        };
        var declarations = options?.Tools?.OfType<AIFunctionDeclaration>().ToList() ?? [];
        if (declarations.Count == 0 || options?.ToolMode is NoneChatToolMode) return ([], grammar, null);
        var tools = declarations.Select(d => new ToolDefinition(d.Name, d.Description, d.JsonSchema.ValueKind == JsonValueKind.Object ? d.JsonSchema : null)).ToList();
        bool parallel = options?.AllowMultipleToolCalls != false;
        if (options?.ToolMode is RequiredChatToolMode required)
        {
            var allowed = tools.Where(t => required.RequiredFunctionName is null || t.Name == required.RequiredFunctionName)
                .Select(t => (t.Name, ArgumentsGrammar(t))).ToList();
            if (allowed.Count == 0) throw new ArgumentException($"the required function '{required.RequiredFunctionName}' is not among the tools");
            grammar = JsonGrammar.ToolCalls(ToolCallSyntax.For(kind), allowed, parallel && required.RequiredFunctionName is null);
            return (tools, grammar, null);
        }
        if (grammar is not null) return (tools, grammar, null);
        // Auto: free text, but a call the model starts is forced to be well formed with valid arguments.
        var syntax = ToolCallSyntax.For(kind);
        return (tools, JsonGrammar.ToolCalls(syntax, tools.Select(t => (t.Name, ArgumentsGrammar(t))).ToList(), parallel), syntax.TriggerText);
    }

    private static JsonGrammar ArgumentsGrammar(ToolDefinition t)
    {
        if (t.ParametersSchema is not { } schema) return JsonGrammar.AnyObject;
        try
        {
            return JsonGrammar.FromSchema(schema);
        }
        catch (JsonSchemaException)
        {
            return JsonGrammar.AnyObject;
        }
    }

    private static Dictionary<string, object?>? Arguments(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return null;
            return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static List<WhaleChatMessage> Convert(IEnumerable<AIChatMessage> messages)
    {
        var list = new List<WhaleChatMessage>();
        foreach (var m in messages)
        {
            var text = new StringBuilder();
            var calls = new List<Tokenization.ChatToolCall>();
            var results = new List<FunctionResultContent>();
            foreach (var c in m.Contents)
            {
                switch (c)
                {
                    case TextContent t: text.Append(t.Text); break;
                    case FunctionCallContent f:
                        calls.Add(new Tokenization.ChatToolCall(f.CallId, f.Name, JsonSerializer.Serialize(f.Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions)));
                        break;
                    case FunctionResultContent r: results.Add(r); break;
                }
            }
            if (results.Count > 0)
            {
                foreach (var r in results) list.Add(WhaleChatMessage.Tool(ResultText(r.Result), r.CallId));
                continue;
            }
            var role = m.Role == AIChatRole.System ? WhaleChatRole.System
                : m.Role == AIChatRole.Assistant ? WhaleChatRole.Assistant
                : m.Role == AIChatRole.Tool ? WhaleChatRole.Tool : WhaleChatRole.User;
            var msg = new WhaleChatMessage(role, text.ToString());
            if (calls.Count > 0) msg = msg with { ToolCalls = calls };
            list.Add(msg);
        }
        return list;
    }

    private static string ResultText(object? result) => result switch
    {
        null => "null",
        string s => s,
        JsonElement e => e.GetRawText(),
        _ => JsonSerializer.Serialize(result, AIJsonUtilities.DefaultOptions),
    };
}
