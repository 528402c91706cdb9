using System.Text;
using System.Text.Json;
using Whale.Engine;
using Whale.Tokenization;

namespace Whale.Server.Generation;

/// <summary>Writes the JSON of chat and text completions, whole or as stream chunks (OpenAI / DeepSeek shapes).</summary>
internal sealed class ResponseJson(PreparedRequest request)
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly Tokenizer _tok = request.Model.Model.Tokenizer;

    public string Id { get; } = (request.Chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
    public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    public const string Fingerprint = "fp_whale";

    /// <summary>Usage summed over the choices (the prompt counted once).</summary>
    public static (int Prompt, int Cached, int Completion, int Reasoning) Totals(IEnumerable<ChoiceState> choices)
    {
        int prompt = 0, cached = 0, completion = 0, reasoning = 0;
        bool first = true;
        foreach (var c in choices)
        {
            if (c.Usage is not { } u) continue;
            if (first) { prompt = u.PromptTokens; cached = u.CachedPromptTokens; first = false; }
            completion += u.CompletionTokens;
            reasoning += u.ReasoningTokens;
        }
        return (prompt, cached, completion, reasoning);
    }

    public byte[] Whole(IReadOnlyList<ChoiceState> choices) => Write(w =>
    {
        Header(w, request.Chat ? "chat.completion" : "text_completion");
        w.WriteStartArray("choices");
        for (int i = 0; i < choices.Count; i++)
        {
            var c = choices[i];
            w.WriteStartObject();
            w.WriteNumber("index", i);
            if (request.Chat)
            {
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                if (c.ToolCalls.Count > 0 && c.Content.Length == 0) w.WriteNull("content");
                else w.WriteString("content", c.Content.ToString());
                if (request.ReasoningExpected || c.Reasoning.Length > 0) w.WriteString("reasoning_content", c.Reasoning.ToString());
                if (c.ToolCalls.Count > 0)
                {
                    w.WriteStartArray("tool_calls");
                    for (int k = 0; k < c.ToolCalls.Count; k++) WriteToolCall(w, c.ToolCalls[k], null);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            else
            {
                w.WriteString("text", request.Echo + c.Content.ToString());
            }
            WriteLogprobs(w, c, 0, c.Logprobs.Count, request.Echo?.Length ?? 0);
            w.WriteString("finish_reason", MapFinish(c.FinishReason));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        WriteUsage(w, Totals(choices));
    });

    /// <summary>A chat stream chunk for choice <paramref name="index"/>.</summary>
    public byte[] ChatChunk(int index, ChoiceState c, bool role, string? reasoning, string? content, int logprobsUpTo, string? finish) => Write(w =>
    {
        Header(w, "chat.completion.chunk");
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", index);
        w.WriteStartObject("delta");
        if (role) w.WriteString("role", "assistant");
        if (finish is null)
        {
            if (content is null) w.WriteNull("content"); else w.WriteString("content", content);
            if (request.ReasoningExpected || reasoning is not null)
            {
                if (reasoning is null) w.WriteNull("reasoning_content"); else w.WriteString("reasoning_content", reasoning);
            }
        }
        w.WriteEndObject();
        WriteLogprobs(w, c, c.LogprobsSent, logprobsUpTo, 0);
        c.LogprobsSent = Math.Max(c.LogprobsSent, logprobsUpTo);
        if (finish is null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", MapFinish(finish));
        w.WriteEndObject();
        w.WriteEndArray();
        if (request.IncludeUsage) w.WriteNull("usage");
    });

    /// <summary>A chat stream chunk carrying one whole tool call (id, name and all its arguments).</summary>
    public byte[] ToolCallChunk(int index, int callIndex, ChatToolCall call) => Write(w =>
    {
        Header(w, "chat.completion.chunk");
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", index);
        w.WriteStartObject("delta");
        w.WriteStartArray("tool_calls");
        WriteToolCall(w, call, callIndex);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteNull("logprobs");
        w.WriteNull("finish_reason");
        w.WriteEndObject();
        w.WriteEndArray();
        if (request.IncludeUsage) w.WriteNull("usage");
    });

    private static void WriteToolCall(Utf8JsonWriter w, ChatToolCall call, int? index)
    {
        w.WriteStartObject();
        if (index is { } i) w.WriteNumber("index", i);
        w.WriteString("id", call.Id);
        w.WriteString("type", "function");
        w.WriteStartObject("function");
        w.WriteString("name", call.Name);
        w.WriteString("arguments", call.ArgumentsJson);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>A text-completion stream chunk.</summary>
    public byte[] TextChunk(int index, ChoiceState c, string text, int logprobsUpTo, string? finish, int textOffset) => Write(w =>
    {
        Header(w, "text_completion");
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteString("text", text);
        w.WriteNumber("index", index);
        WriteLogprobs(w, c, c.LogprobsSent, logprobsUpTo, textOffset);
        c.LogprobsSent = Math.Max(c.LogprobsSent, logprobsUpTo);
        if (finish is null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", MapFinish(finish));
        w.WriteEndObject();
        w.WriteEndArray();
        if (request.IncludeUsage) w.WriteNull("usage");
    });

    /// <summary>The closing usage chunk: <c>choices: []</c> and the usage of the whole request.</summary>
    public byte[] UsageChunk(IReadOnlyList<ChoiceState> choices) => Write(w =>
    {
        Header(w, request.Chat ? "chat.completion.chunk" : "text_completion");
        w.WriteStartArray("choices");
        w.WriteEndArray();
        WriteUsage(w, Totals(choices));
    });

    /// <summary>DeepSeek puts usage on the last chunk even without include_usage: the final chunk with usage added.</summary>
    public static byte[] WithUsage(byte[] chunk, IReadOnlyList<ChoiceState> choices)
    {
        var usage = Write(w => WriteUsage(w, Totals(choices)));
        // chunk is "{...}"; usage is "{"usage":{...}}": splice usage's members into the chunk.
        var sb = new StringBuilder(Encoding.UTF8.GetString(chunk, 0, chunk.Length - 1));
        sb.Append(',').Append(Encoding.UTF8.GetString(usage, 1, usage.Length - 1));
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    public static string MapFinish(string? reason) => reason switch
    {
        "stop" or "length" => reason,
        // The engine stopped the request (shutdown) while the client was still there.
        "cancelled" => "insufficient_system_resource",
        null => "stop",
        _ => reason,
    };

    private void Header(Utf8JsonWriter w, string obj)
    {
        w.WriteString("id", Id);
        w.WriteString("object", obj);
        w.WriteNumber("created", Created);
        w.WriteString("model", request.Model.Id);
        w.WriteString("system_fingerprint", Fingerprint);
    }

    private static void WriteUsage(Utf8JsonWriter w, (int Prompt, int Cached, int Completion, int Reasoning) u)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", u.Prompt);
        w.WriteNumber("completion_tokens", u.Completion);
        w.WriteNumber("total_tokens", u.Prompt + u.Completion);
        w.WriteNumber("prompt_cache_hit_tokens", u.Cached);
        w.WriteNumber("prompt_cache_miss_tokens", u.Prompt - u.Cached);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", u.Cached);
        w.WriteEndObject();
        w.WriteStartObject("completion_tokens_details");
        w.WriteNumber("reasoning_tokens", u.Reasoning);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private void WriteLogprobs(Utf8JsonWriter w, ChoiceState c, int from, int to, int textOffset)
    {
        if (!request.Logprobs || to <= from)
        {
            w.WriteNull("logprobs");
            return;
        }
        w.WriteStartObject("logprobs");
        if (request.Chat)
        {
            bool anyReasoning = false;
            w.WriteStartArray("content");
            for (int i = from; i < to; i++)
            {
                if (c.Logprobs[i].InReasoning) { anyReasoning = true; continue; }
                ChatLogprob(w, c.Logprobs[i].Logprob);
            }
            w.WriteEndArray();
            if (anyReasoning)
            {
                w.WriteStartArray("reasoning_content");
                for (int i = from; i < to; i++)
                    if (c.Logprobs[i].InReasoning) ChatLogprob(w, c.Logprobs[i].Logprob);
                w.WriteEndArray();
            }
        }
        else
        {
            w.WriteStartArray("tokens");
            for (int i = from; i < to; i++) w.WriteStringValue(TokenText(c.Logprobs[i].Logprob.TokenId));
            w.WriteEndArray();
            w.WriteStartArray("token_logprobs");
            for (int i = from; i < to; i++) w.WriteNumberValue(c.Logprobs[i].Logprob.Logprob);
            w.WriteEndArray();
            w.WriteStartArray("top_logprobs");
            for (int i = from; i < to; i++)
            {
                w.WriteStartObject();
                foreach (var t in c.Logprobs[i].Logprob.Top) w.WriteNumber(TokenText(t.TokenId), t.Logprob);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("text_offset");
            int offset = textOffset;
            for (int i = 0; i < to; i++)
            {
                if (i >= from) w.WriteNumberValue(offset);
                offset += TokenText(c.Logprobs[i].Logprob.TokenId).Length;
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private void ChatLogprob(Utf8JsonWriter w, TokenLogprob lp)
    {
        w.WriteStartObject();
        Token(w, lp);
        w.WriteStartArray("top_logprobs");
        foreach (var t in lp.Top)
        {
            w.WriteStartObject();
            Token(w, t);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private void Token(Utf8JsonWriter w, TokenLogprob lp)
    {
        var bytes = _tok.TokenToBytes(lp.TokenId, renderSpecial: true);
        w.WriteString("token", Encoding.UTF8.GetString(bytes));
        w.WriteNumber("logprob", lp.Logprob);
        w.WriteStartArray("bytes");
        foreach (byte b in bytes) w.WriteNumberValue(b);
        w.WriteEndArray();
    }

    private string TokenText(int id) => Encoding.UTF8.GetString(_tok.TokenToBytes(id, renderSpecial: true));

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
