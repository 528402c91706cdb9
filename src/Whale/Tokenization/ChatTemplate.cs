using System.Text;

namespace Whale.Tokenization;

/// <summary>
/// A chat template: turns a list of <see cref="ChatMessage"/>s into the prompt text a model was trained on.
/// </summary>
/// <remarks>
/// <para>
/// Whale has no Jinja engine. Instead it recognises the template family from the GGUF / tokenizer_config
/// <c>chat_template</c> text (the way llama.cpp's <c>llm_chat_detect_template</c> does, by substrings) and renders
/// the family natively, reproducing the Hugging Face Jinja output character for character for the supported
/// templates (DeepSeek-R1, R1-Distill-Qwen/Llama, DeepSeek-V3 (Dec 2024), DeepSeek-V2, Qwen2/Qwen2.5, Qwen3,
/// Llama 3). Later DeepSeek templates (V3-0324, R1-0528, V3.1) are rendered with the closest family; their tool
/// and thinking flags are not reproduced.
/// </para>
/// <para>
/// BOS: like the Jinja templates, <see cref="Render"/> writes the BOS text (e.g. <c>&lt;｜begin▁of▁sentence｜&gt;</c>)
/// at the start for the DeepSeek and Llama 3 families. A caller whose tokenizer adds the BOS id itself must strip
/// that prefix first (llama.cpp does so when the vocabulary's add_bos is true), otherwise the prompt gets two BOS
/// tokens. The text must be tokenized with special tokens parsed.
/// </para>
/// <para>
/// Tool calls: DeepSeek templates splice <see cref="ChatToolCall.ArgumentsJson"/> in verbatim; the Qwen2.5 template
/// applies <c>tojson</c> to the arguments object, reproduced here by re-serialising the JSON with Python's
/// separators (", " and ": "), which is what llama.cpp produces for that template.
/// </para>
/// </remarks>
public sealed class ChatTemplate
{
    /// <summary>The names accepted by <see cref="FromName"/> (aliases excluded).</summary>
    public static IReadOnlyList<string> KnownNames { get; } =
        ["deepseek-r1", "deepseek-r1-distill", "deepseek3", "deepseek2", "chatml", "qwen2", "qwen3", "llama3"];

    private const string DsEos = "<｜end▁of▁sentence｜>";
    private const string DsUser = "<｜User｜>";
    private const string DsAssistant = "<｜Assistant｜>";
    private const string DsCallsBegin = "<｜tool▁calls▁begin｜>";
    private const string DsCallsEnd = "<｜tool▁calls▁end｜>";
    private const string DsCallBegin = "<｜tool▁call▁begin｜>";
    private const string DsCallEnd = "<｜tool▁call▁end｜>";
    private const string DsSep = "<｜tool▁sep｜>";
    private const string DsOutputsBegin = "<｜tool▁outputs▁begin｜>";
    private const string DsOutputsEnd = "<｜tool▁outputs▁end｜>";
    private const string DsOutputBegin = "<｜tool▁output▁begin｜>";
    private const string DsOutputEnd = "<｜tool▁output▁end｜>";
    private const string QwenDefaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
    private const string Qwen2DefaultSystem = "You are a helpful assistant.";

    /// <summary>How a DeepSeek template renders assistant tool calls (the published files differ).</summary>
    private enum DeepSeekToolStyle
    {
        /// <summary>R1: branch on <c>'tool_calls' in message</c>, content inline, one closing tag, outputs without "\n".</summary>
        R1,

        /// <summary>V3 / original Distill: branch on content being none; the closing tags follow only the 2nd+ call;
        /// later outputs prefixed with "\n".</summary>
        ContentNone,

        /// <summary>ggml-org's 2025 reformatted Distill: branch on tool_calls, one closing tag, then the content
        /// branch too; later outputs prefixed with "\n".</summary>
        ToolCalls,
    }

    private readonly string _bos;
    private readonly string _eos;
    private readonly DeepSeekToolStyle _toolStyle;
    private readonly string? _defaultSystem;
    private readonly string _generationPrompt;

    private ChatTemplate(ChatTemplateKind kind, string name, string bos, string eos, DeepSeekToolStyle toolStyle,
        string? defaultSystem, bool thinkInPrompt)
    {
        Kind = kind;
        Name = name;
        _bos = bos;
        _eos = eos;
        _toolStyle = toolStyle;
        _defaultSystem = defaultSystem;
        _generationPrompt = kind switch
        {
            ChatTemplateKind.DeepSeekR1 or ChatTemplateKind.DeepSeekR1Distill or ChatTemplateKind.DeepSeekV3 =>
                thinkInPrompt ? DsAssistant + "<think>\n" : DsAssistant,
            ChatTemplateKind.DeepSeekV2 => "Assistant:",
            ChatTemplateKind.Qwen2 or ChatTemplateKind.Qwen3 => "<|im_start|>assistant\n",
            ChatTemplateKind.Llama3 => "<|start_header_id|>assistant<|end_header_id|>\n\n",
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    /// <summary>The template family.</summary>
    public ChatTemplateKind Kind { get; }

    /// <summary>The canonical name of the family (one of <see cref="KnownNames"/>).</summary>
    public string Name { get; }

    /// <summary>
    /// True when the generation prompt ends with <c>&lt;think&gt;\n</c> (R1 and R1-Distill): the model's reply starts
    /// inside its reasoning block, so the output up to <c>&lt;/think&gt;</c> is reasoning even though the opening tag
    /// is part of the prompt.
    /// </summary>
    public bool GenerationPromptOpensThinking => _generationPrompt.EndsWith("<think>\n", StringComparison.Ordinal);

    /// <summary>The text appended when <c>addGenerationPrompt</c> is true.</summary>
    public string GenerationPrompt => _generationPrompt;

    /// <summary>
    /// Recognises the template family of a Jinja <c>chat_template</c> text by the substrings that characterise it.
    /// </summary>
    /// <param name="jinja">The template text (GGUF <c>tokenizer.chat_template</c>); null when the model has none.</param>
    /// <param name="bosText">The BOS token text (used by DeepSeek and Llama 3 templates); may be empty.</param>
    /// <param name="eosText">The EOS token text (used by the DeepSeek-V2 template); may be empty.</param>
    /// <exception cref="NotSupportedException">The text is null or belongs to no supported family.</exception>
    public static ChatTemplate FromTemplateText(string? jinja, string bosText, string eosText)
    {
        ArgumentNullException.ThrowIfNull(bosText);
        ArgumentNullException.ThrowIfNull(eosText);
        if (string.IsNullOrEmpty(jinja))
            throw new NotSupportedException("the model has no chat template; " + NameHint);

        bool Has(string s) => jinja.Contains(s, StringComparison.Ordinal);

        if (Has("<|im_start|>"))
        {
            if (Has("</think>") || Has("reasoning_content"))
                return new ChatTemplate(ChatTemplateKind.Qwen3, "qwen3", bosText, eosText, default, null, false);
            string? defaultSystem = Has(QwenDefaultSystem) ? QwenDefaultSystem
                : Has("system\\n" + Qwen2DefaultSystem) || Has("system\n" + Qwen2DefaultSystem) ? Qwen2DefaultSystem
                : null;
            return new ChatTemplate(ChatTemplateKind.Qwen2, defaultSystem is null ? "chatml" : "qwen2", bosText, eosText,
                default, defaultSystem, false);
        }

        if (Has("<|start_header_id|>") && Has("<|end_header_id|>"))
            return new ChatTemplate(ChatTemplateKind.Llama3, "llama3", bosText, eosText, default, null, false);

        if (Has(DsAssistant) && Has(DsUser))
        {
            var style = Has("and message['content'] is none") ? DeepSeekToolStyle.ContentNone
                : Has("'tool_calls' in message") ? DeepSeekToolStyle.R1
                : Has("and message['tool_calls']") ? DeepSeekToolStyle.ToolCalls
                : (DeepSeekToolStyle?)null;
            bool think = Has(DsAssistant + "<think>");
            if (Has("</think>"))
            {
                // R1 concatenates every system message; the Distill files keep only the last one.
                bool lastSystemOnly = Has("ns.system_prompt = message['content']");
                return lastSystemOnly
                    ? new ChatTemplate(ChatTemplateKind.DeepSeekR1Distill, "deepseek-r1-distill", bosText, eosText,
                        style ?? DeepSeekToolStyle.ContentNone, null, think)
                    : new ChatTemplate(ChatTemplateKind.DeepSeekR1, "deepseek-r1", bosText, eosText,
                        style ?? DeepSeekToolStyle.R1, null, think);
            }

            if (Has(DsEos) || Has("eos_token"))
                return new ChatTemplate(ChatTemplateKind.DeepSeekV3, "deepseek3", bosText, eosText,
                    style ?? DeepSeekToolStyle.ContentNone, null, think);
        }

        if (Has("User: ") && Has("Assistant:"))
            return new ChatTemplate(ChatTemplateKind.DeepSeekV2, "deepseek2", bosText, eosText, default, null, false);

        throw new NotSupportedException("unknown chat template; " + NameHint);
    }

    /// <summary>
    /// The template for a family name (the <c>--chat-template NAME</c> override): deepseek-r1, deepseek-r1-distill,
    /// deepseek3 (deepseek-v3), deepseek2 (deepseek-v2), chatml (plain ChatML, no default system prompt),
    /// qwen2 (qwen2.5; with the "You are Qwen…" default system prompt), qwen3, llama3. Case-insensitive.
    /// </summary>
    /// <param name="name">The family name.</param>
    /// <param name="bosText">The BOS token text; may be empty.</param>
    /// <param name="eosText">The EOS token text; may be empty.</param>
    /// <exception cref="NotSupportedException">The name is unknown.</exception>
    public static ChatTemplate FromName(string name, string bosText, string eosText)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(bosText);
        ArgumentNullException.ThrowIfNull(eosText);
        return name.Trim().ToLowerInvariant() switch
        {
            "deepseek-r1" or "deepseek_r1" or "deepseek-reasoner" =>
                new ChatTemplate(ChatTemplateKind.DeepSeekR1, "deepseek-r1", bosText, eosText, DeepSeekToolStyle.R1, null, true),
            "deepseek-r1-distill" or "deepseek_r1_distill" =>
                new ChatTemplate(ChatTemplateKind.DeepSeekR1Distill, "deepseek-r1-distill", bosText, eosText,
                    DeepSeekToolStyle.ContentNone, null, true),
            "deepseek3" or "deepseek-v3" =>
                new ChatTemplate(ChatTemplateKind.DeepSeekV3, "deepseek3", bosText, eosText, DeepSeekToolStyle.ContentNone, null, false),
            "deepseek2" or "deepseek-v2" =>
                new ChatTemplate(ChatTemplateKind.DeepSeekV2, "deepseek2", bosText, eosText, default, null, false),
            "chatml" => new ChatTemplate(ChatTemplateKind.Qwen2, "chatml", bosText, eosText, default, null, false),
            "qwen2" or "qwen2.5" or "qwen" =>
                new ChatTemplate(ChatTemplateKind.Qwen2, "qwen2", bosText, eosText, default, QwenDefaultSystem, false),
            "qwen3" => new ChatTemplate(ChatTemplateKind.Qwen3, "qwen3", bosText, eosText, default, null, false),
            "llama3" or "llama-3" => new ChatTemplate(ChatTemplateKind.Llama3, "llama3", bosText, eosText, default, null, false),
            _ => throw new NotSupportedException($"unknown chat template name '{name}'; one of: {string.Join(", ", KnownNames)}"),
        };
    }

    private static string NameHint => "pass --chat-template NAME, one of: " + string.Join(", ", KnownNames);

    /// <summary>
    /// Renders a conversation exactly as the model's Hugging Face Jinja template does (BOS text included for the
    /// DeepSeek and Llama 3 families; see the class remarks).
    /// </summary>
    /// <param name="messages">The conversation, oldest first.</param>
    /// <param name="addGenerationPrompt">Append the text that opens the assistant's reply.</param>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var sb = new StringBuilder();
        switch (Kind)
        {
            case ChatTemplateKind.DeepSeekR1:
            case ChatTemplateKind.DeepSeekR1Distill:
            case ChatTemplateKind.DeepSeekV3:
                RenderDeepSeek(sb, messages, addGenerationPrompt);
                break;
            case ChatTemplateKind.DeepSeekV2:
                RenderDeepSeekV2(sb, messages, addGenerationPrompt);
                break;
            case ChatTemplateKind.Qwen2:
                RenderQwen2(sb, messages, addGenerationPrompt);
                break;
            case ChatTemplateKind.Qwen3:
                RenderQwen3(sb, messages, addGenerationPrompt);
                break;
            case ChatTemplateKind.Llama3:
                RenderLlama3(sb, messages, addGenerationPrompt);
                break;
            default:
                throw new InvalidOperationException("unhandled template kind " + Kind);
        }

        return sb.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    private static string RoleName(ChatRole role) => role switch
    {
        ChatRole.System => "system",
        ChatRole.User => "user",
        ChatRole.Assistant => "assistant",
        ChatRole.Tool => "tool",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    private void RenderDeepSeek(StringBuilder sb, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        bool stripThinking = Kind != ChatTemplateKind.DeepSeekV3;
        bool lastSystemOnly = Kind == ChatTemplateKind.DeepSeekR1Distill;
        string outputSeparator = _toolStyle == DeepSeekToolStyle.R1 ? "" : "\n";

        sb.Append(_bos);
        bool firstSystem = true;
        foreach (var m in messages)
        {
            if (m.Role != ChatRole.System)
                continue;
            if (lastSystemOnly)
            {
                sb.Length = _bos.Length;
                sb.Append(m.Content);
            }
            else
            {
                if (!firstSystem)
                    sb.Append("\n\n");
                sb.Append(m.Content);
                firstSystem = false;
            }
        }

        bool isFirstCall = true, isTool = false, isOutputFirst = true;
        foreach (var m in messages)
        {
            switch (m.Role)
            {
                case ChatRole.User:
                    isTool = false;
                    sb.Append(DsUser).Append(m.Content);
                    break;

                case ChatRole.Assistant:
                    switch (_toolStyle)
                    {
                        case DeepSeekToolStyle.R1:
                            if (m.ToolCalls is not null)
                            {
                                isTool = false;
                                foreach (var call in m.ToolCalls)
                                {
                                    if (isFirstCall)
                                    {
                                        sb.Append(DsAssistant);
                                        if (!m.ContentIsNone)
                                            sb.Append(m.Content);
                                        sb.Append(DsCallsBegin);
                                        AppendDeepSeekCall(sb, call);
                                        isFirstCall = false;
                                    }
                                    else
                                    {
                                        sb.Append('\n');
                                        AppendDeepSeekCall(sb, call);
                                    }
                                }

                                sb.Append(DsCallsEnd).Append(DsEos);
                            }
                            else
                            {
                                AppendDeepSeekAssistantText(sb, m.Content, stripThinking, ref isTool);
                            }

                            break;

                        case DeepSeekToolStyle.ContentNone:
                            if (m.ContentIsNone)
                            {
                                isTool = false;
                                foreach (var call in m.ToolCalls!)
                                {
                                    if (isFirstCall)
                                    {
                                        sb.Append(DsAssistant).Append(DsCallsBegin);
                                        AppendDeepSeekCall(sb, call);
                                        isFirstCall = false;
                                    }
                                    else
                                    {
                                        // The published template closes the block only after a 2nd+ call.
                                        sb.Append('\n');
                                        AppendDeepSeekCall(sb, call);
                                        sb.Append(DsCallsEnd).Append(DsEos);
                                    }
                                }
                            }
                            else
                            {
                                AppendDeepSeekAssistantText(sb, m.Content, stripThinking, ref isTool);
                            }

                            break;

                        case DeepSeekToolStyle.ToolCalls:
                            if (m.HasToolCalls)
                            {
                                isTool = false;
                                foreach (var call in m.ToolCalls!)
                                {
                                    if (isFirstCall)
                                    {
                                        sb.Append(DsAssistant).Append(DsCallsBegin);
                                        AppendDeepSeekCall(sb, call);
                                        isFirstCall = false;
                                    }
                                    else
                                    {
                                        sb.Append('\n');
                                        AppendDeepSeekCall(sb, call);
                                    }
                                }

                                sb.Append(DsCallsEnd).Append(DsEos);
                            }

                            if (!m.ContentIsNone)
                                AppendDeepSeekAssistantText(sb, m.Content, stripThinking, ref isTool);
                            break;
                    }

                    break;

                case ChatRole.Tool:
                    isTool = true;
                    if (isOutputFirst)
                    {
                        sb.Append(DsOutputsBegin);
                        isOutputFirst = false;
                    }
                    else
                    {
                        sb.Append(outputSeparator);
                    }

                    sb.Append(DsOutputBegin).Append(m.Content).Append(DsOutputEnd);
                    break;
            }
        }

        if (isTool)
            sb.Append(DsOutputsEnd);
        if (addGenerationPrompt && !isTool)
            sb.Append(_generationPrompt);
    }

    private static void AppendDeepSeekAssistantText(StringBuilder sb, string content, bool stripThinking, ref bool isTool)
    {
        if (isTool)
        {
            // Right after tool outputs the reply is appended as is (no <｜Assistant｜>, no reasoning stripping).
            sb.Append(DsOutputsEnd).Append(content).Append(DsEos);
            isTool = false;
            return;
        }

        sb.Append(DsAssistant).Append(stripThinking ? StripReasoning(content) : content).Append(DsEos);
    }

    private static void AppendDeepSeekCall(StringBuilder sb, ChatToolCall call) =>
        sb.Append(DsCallBegin).Append("function").Append(DsSep).Append(call.Name)
          .Append("\n```json\n").Append(call.ArgumentsJson).Append("\n```").Append(DsCallEnd);

    /// <summary>The Jinja <c>content.split('&lt;/think&gt;')[-1]</c>: the text after the last <c>&lt;/think&gt;</c>, untrimmed.</summary>
    internal static string StripReasoning(string content)
    {
        int i = content.LastIndexOf("</think>", StringComparison.Ordinal);
        return i < 0 ? content : content[(i + "</think>".Length)..];
    }

    private void RenderDeepSeekV2(StringBuilder sb, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        sb.Append(_bos);
        foreach (var m in messages)
        {
            switch (m.Role)
            {
                case ChatRole.User:
                    sb.Append("User: ").Append(m.Content).Append("\n\n");
                    break;
                case ChatRole.Assistant:
                    sb.Append("Assistant: ").Append(m.Content).Append(_eos);
                    break;
                case ChatRole.System:
                    sb.Append(m.Content).Append("\n\n");
                    break;
            }
        }

        if (addGenerationPrompt)
            sb.Append(_generationPrompt);
    }

    private void RenderQwen2(StringBuilder sb, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        if (messages.Count > 0 && messages[0].Role == ChatRole.System)
            sb.Append("<|im_start|>system\n").Append(messages[0].Content).Append("<|im_end|>\n");
        else if (_defaultSystem is not null)
            sb.Append("<|im_start|>system\n").Append(_defaultSystem).Append("<|im_end|>\n");

        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            if (m.Role == ChatRole.User || (m.Role == ChatRole.System && i != 0) || (m.Role == ChatRole.Assistant && !m.HasToolCalls))
            {
                sb.Append("<|im_start|>").Append(RoleName(m.Role)).Append('\n').Append(m.Content).Append("<|im_end|>\n");
            }
            else if (m.Role == ChatRole.Assistant)
            {
                sb.Append("<|im_start|>assistant");
                if (m.Content.Length > 0)
                    sb.Append('\n').Append(m.Content);
                foreach (var call in m.ToolCalls!)
                {
                    sb.Append("\n<tool_call>\n{\"name\": \"").Append(call.Name).Append("\", \"arguments\": ");
                    ChatTemplateJson.AppendToJson(sb, call.ArgumentsJson);
                    sb.Append("}\n</tool_call>");
                }

                sb.Append("<|im_end|>\n");
            }
            else if (m.Role == ChatRole.Tool)
            {
                AppendChatMlToolResponse(sb, messages, i);
            }
        }

        if (addGenerationPrompt)
            sb.Append(_generationPrompt);
    }

    private static void AppendChatMlToolResponse(StringBuilder sb, IReadOnlyList<ChatMessage> messages, int i)
    {
        if (i == 0 || messages[i - 1].Role != ChatRole.Tool)
            sb.Append("<|im_start|>user");
        sb.Append("\n<tool_response>\n").Append(messages[i].Content).Append("\n</tool_response>");
        if (i == messages.Count - 1 || messages[i + 1].Role != ChatRole.Tool)
            sb.Append("<|im_end|>\n");
    }

    private void RenderQwen3(StringBuilder sb, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        if (messages.Count > 0 && messages[0].Role == ChatRole.System)
            sb.Append("<|im_start|>system\n").Append(messages[0].Content).Append("<|im_end|>\n");

        // The last real user query (tool responses wrapped as user messages do not count).
        int lastQuery = messages.Count - 1;
        for (int i = messages.Count - 1; i >= 0; i--)
        {
            var m = messages[i];
            if (m.Role == ChatRole.User &&
                !(m.Content.StartsWith("<tool_response>", StringComparison.Ordinal) &&
                  m.Content.EndsWith("</tool_response>", StringComparison.Ordinal)))
            {
                lastQuery = i;
                break;
            }
        }

        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            bool last = i == messages.Count - 1;
            if (m.Role == ChatRole.User || (m.Role == ChatRole.System && i != 0))
            {
                sb.Append("<|im_start|>").Append(RoleName(m.Role)).Append('\n').Append(m.Content).Append("<|im_end|>\n");
            }
            else if (m.Role == ChatRole.Assistant)
            {
                string content = m.Content;
                string reasoning = "";
                int end = content.IndexOf("</think>", StringComparison.Ordinal);
                if (end >= 0)
                {
                    string before = content[..end].TrimEnd('\n');
                    int open = before.LastIndexOf("<think>", StringComparison.Ordinal);
                    reasoning = (open < 0 ? before : before[(open + "<think>".Length)..]).TrimStart('\n');
                    content = StripReasoning(content).TrimStart('\n');
                }

                if (i > lastQuery && (last || reasoning.Length > 0))
                {
                    sb.Append("<|im_start|>assistant\n<think>\n").Append(reasoning.Trim('\n')).Append("\n</think>\n\n")
                      .Append(content.TrimStart('\n'));
                }
                else
                {
                    sb.Append("<|im_start|>assistant\n").Append(content);
                }

                if (m.HasToolCalls)
                {
                    for (int c = 0; c < m.ToolCalls!.Count; c++)
                    {
                        var call = m.ToolCalls[c];
                        if (c > 0 || content.Length > 0)
                            sb.Append('\n');
                        // Arguments arrive as a string, which the template splices in verbatim.
                        sb.Append("<tool_call>\n{\"name\": \"").Append(call.Name).Append("\", \"arguments\": ")
                          .Append(call.ArgumentsJson).Append("}\n</tool_call>");
                    }
                }

                sb.Append("<|im_end|>\n");
            }
            else if (m.Role == ChatRole.Tool)
            {
                AppendChatMlToolResponse(sb, messages, i);
            }
        }

        if (addGenerationPrompt)
            sb.Append(_generationPrompt);
    }

    private void RenderLlama3(StringBuilder sb, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        for (int i = 0; i < messages.Count; i++)
        {
            if (i == 0)
                sb.Append(_bos);
            var m = messages[i];
            sb.Append("<|start_header_id|>").Append(RoleName(m.Role)).Append("<|end_header_id|>\n\n")
              .Append(m.Content.Trim()).Append("<|eot_id|>");
        }

        if (addGenerationPrompt)
            sb.Append(_generationPrompt);
    }
}
