using System.Text;
using System.Text.Json;
using Whale.Engine;
using Whale.Server.Contracts;
using Whale.Server.Errors;
using Whale.Tokenization;
using Whale.Tools;

namespace Whale.Server.Generation;

/// <summary>Turns chat messages or a completion prompt into prompt tokens.</summary>
internal static class PromptBuilder
{
    /// <summary>The chat prompt, and whether it ends inside an open reasoning block.</summary>
    public static (int[] Tokens, bool OpensThinking) Chat(WhaleModel model, string modelId, List<ChatMessageDto>? dtos, IReadOnlyList<ToolDefinition>? tools = null)
    {
        if (dtos is null || dtos.Count == 0) throw ApiException.BadRequest("'messages' must be a non-empty array", "messages");
        var template = Template(model, modelId);
        var messages = new List<ChatMessage>(dtos.Count);
        ChatMessageDto? prefix = null;
        for (int i = 0; i < dtos.Count; i++)
        {
            var d = dtos[i] ?? throw ApiException.BadRequest($"messages[{i}] must be an object", $"messages[{i}]");
            var role = d.Role switch
            {
                "system" or "developer" => ChatRole.System,
                "user" => ChatRole.User,
                "assistant" => ChatRole.Assistant,
                "tool" => ChatRole.Tool,
                null => throw ApiException.BadRequest($"messages[{i}].role is required", $"messages[{i}].role"),
                _ => throw ApiException.Invalid($"messages[{i}].role", $"messages[{i}].role must be system, user, assistant or tool, got '{d.Role}'"),
            };
            string content = Content(d.Content, $"messages[{i}].content", nullable: role == ChatRole.Assistant);
            if (d.Prefix == true)
            {
                if (i != dtos.Count - 1 || role != ChatRole.Assistant)
                    throw ApiException.Invalid($"messages[{i}].prefix", "prefix: true is only allowed on the last message, which must be from the assistant");
                prefix = d;
                continue;
            }
            var m = new ChatMessage(role, content) { ToolCallId = d.ToolCallId };
            if (d.ToolCalls is { Count: > 0 } calls)
                m = m with { ToolCalls = calls.Select((c, k) => new ChatToolCall(c.Id ?? $"call_{k}", c.Function?.Name ?? "", c.Function?.Arguments ?? "{}")).ToList() };
            messages.Add(m);
        }
        if (messages.Count == 0) throw ApiException.BadRequest("'messages' must hold at least one message besides the prefix", "messages");

        var rendered = tools is { Count: > 0 } ? ToolPrompt.AddTools(messages, tools, template.Kind) : messages;
        var text = new StringBuilder(template.Render(rendered, addGenerationPrompt: true));
        bool opensThinking = template.GenerationPromptOpensThinking;
        if (prefix is not null)
        {
            string content = Content(prefix.Content, "messages[-1].content", nullable: true);
            string? reasoning = prefix.ReasoningContent ?? prefix.Reasoning;
            if (opensThinking)
            {
                // The reply so far: the reasoning (inside the open <think>), then, if there is answer text, the close.
                text.Append(reasoning);
                if (content.Length > 0)
                {
                    text.Append(string.IsNullOrEmpty(reasoning) ? "</think>\n\n" : "\n</think>\n\n").Append(content);
                    opensThinking = false;
                }
            }
            else
            {
                text.Append(content);
            }
        }
        return (Encode(model, text.ToString()), opensThinking);
    }

    /// <summary>The model's chat template, or a 400 when it has none.</summary>
    public static ChatTemplate Template(WhaleModel model, string modelId)
    {
        try
        {
            return model.ChatTemplate;
        }
        catch (NotSupportedException e)
        {
            throw ApiException.BadRequest($"model '{modelId}' cannot chat: {e.Message} (whale serve --chat-template NAME), or use /completions", "model", "chat_template_missing");
        }
    }

    /// <summary>The completion prompt: text (or token ids), with FIM formatting when a suffix is given.</summary>
    public static (int[] Tokens, string? Text) Completion(WhaleModel model, JsonElement prompt, string? suffix)
    {
        var tok = model.Tokenizer;
        string? text = null;
        int[]? ids = null;
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                text = prompt.GetString()!;
                break;
            case JsonValueKind.Array:
                var items = prompt.EnumerateArray().ToList();
                if (items.Count == 0) throw ApiException.Invalid("prompt", "prompt must not be empty");
                if (items.All(e => e.ValueKind == JsonValueKind.String))
                {
                    if (items.Count > 1) throw ApiException.Invalid("prompt", "one prompt per request is supported; send several requests");
                    text = items[0].GetString()!;
                }
                else if (items.All(e => e.ValueKind == JsonValueKind.Number))
                {
                    ids = new int[items.Count];
                    for (int i = 0; i < ids.Length; i++)
                        if (!items[i].TryGetInt32(out ids[i]) || (uint)ids[i] >= (uint)tok.VocabSize)
                            throw ApiException.Invalid("prompt", $"prompt[{i}] is not a token id of this model (0..{tok.VocabSize - 1})");
                }
                else throw ApiException.BadRequest("prompt must be a string, an array of one string, or an array of token ids", "prompt");
                break;
            case JsonValueKind.Undefined or JsonValueKind.Null:
                throw ApiException.BadRequest("'prompt' is required", "prompt");
            default:
                throw ApiException.BadRequest("prompt must be a string, an array of one string, or an array of token ids", "prompt");
        }
        if (!string.IsNullOrEmpty(suffix))
        {
            if (text is null) throw ApiException.Invalid("suffix", "suffix needs a text prompt");
            var fim = FimFormat(tok) ?? throw ApiException.Invalid("suffix",
                "this model has no fill-in-the-middle tokens (<|fim_prefix|>… or <｜fim▁begin｜>…), so suffix is not supported");
            return (tok.Encode(fim.Begin + text + fim.Hole + suffix + fim.End, addSpecial: true, parseSpecial: true), text);
        }
        if (ids is not null) return (ids, null);
        var tokens = tok.Encode(text!, addSpecial: true, parseSpecial: true);
        return (tokens.Length > 0 ? tokens : [tok.BosId], text);
    }

    /// <summary>The FIM markers of the vocabulary: Qwen2.5-Coder style or DeepSeek-Coder style; null when absent.</summary>
    public static (string Begin, string Hole, string End)? FimFormat(Tokenizer tok)
    {
        if (tok.FindToken("<|fim_prefix|>") is not null && tok.FindToken("<|fim_suffix|>") is not null && tok.FindToken("<|fim_middle|>") is not null)
            return ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>");
        if (tok.FindToken("<｜fim▁begin｜>") is not null && tok.FindToken("<｜fim▁hole｜>") is not null && tok.FindToken("<｜fim▁end｜>") is not null)
            return ("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>");
        return null;
    }

    private static int[] Encode(WhaleModel model, string text)
    {
        // As WhaleModel.TokenizeChat: the template writes the BOS text; drop it when the tokenizer adds BOS itself.
        var tok = model.Tokenizer;
        string bos = tok.Decode([tok.BosId], renderSpecial: true);
        if (tok.AddBos && bos.Length > 0 && text.StartsWith(bos, StringComparison.Ordinal)) text = text[bos.Length..];
        return tok.Encode(text, addSpecial: true, parseSpecial: true);
    }

    private static string Content(JsonElement content, string param, bool nullable)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString()!;
            case JsonValueKind.Null or JsonValueKind.Undefined when nullable:
                return "";
            case JsonValueKind.Null or JsonValueKind.Undefined:
                throw ApiException.BadRequest($"{param} is required", param);
            case JsonValueKind.Array:
                var sb = new StringBuilder();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                        throw ApiException.BadRequest($"{param} parts must be objects with a 'type'", param);
                    if (type.GetString() != "text") throw ApiException.Invalid(param, $"only text content parts are supported, got '{type.GetString()}'");
                    if (!part.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
                        throw ApiException.BadRequest($"{param} text parts need a string 'text'", param);
                    sb.Append(t.GetString());
                }
                return sb.ToString();
            default:
                throw ApiException.BadRequest($"{param} must be a string or an array of content parts", param);
        }
    }
}
