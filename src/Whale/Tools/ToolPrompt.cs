using System.Text;
using System.Text.Json;
using Whale.Constraints;
using Whale.Tokenization;

namespace Whale.Tools;

/// <summary>
/// Puts the tool list into the conversation the way the model family expects it: Qwen2.5's "# Tools" system block
/// (Hermes <c>&lt;tool_call&gt;</c> syntax) or a DeepSeek block showing its tool-call tokens. The block is appended to
/// the last system message (R1-Distill templates keep only the last one), or becomes the system message.
/// </summary>
public static class ToolPrompt
{
    /// <summary>The messages with the tools described in the system prompt.</summary>
    public static IReadOnlyList<ChatMessage> AddTools(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ToolDefinition> tools, ChatTemplateKind kind)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(tools);
        if (tools.Count == 0) return messages;
        string block = Block(tools, ToolCallSyntax.For(kind));
        var list = messages.ToList();
        int last = list.FindLastIndex(m => m.Role == ChatRole.System);
        if (last >= 0) list[last] = list[last] with { Content = list[last].Content + "\n\n" + block };
        else list.Insert(0, ChatMessage.System(block));
        return list;
    }

    /// <summary>The system-prompt text describing <paramref name="tools"/> in <paramref name="syntax"/>.</summary>
    public static string Block(IReadOnlyList<ToolDefinition> tools, ToolCallSyntax syntax)
    {
        ArgumentNullException.ThrowIfNull(tools);
        var sb = new StringBuilder();
        if (syntax == ToolCallSyntax.Hermes)
        {
            sb.Append("# Tools\n\nYou may call one or more functions to assist with the user query.\n\n")
              .Append("You are provided with function signatures within <tools></tools> XML tags:\n<tools>");
            foreach (var t in tools) sb.Append('\n').Append(Json(t));
            sb.Append("\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n")
              .Append("<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>");
        }
        else
        {
            sb.Append("## Tools\n\nYou can call the following functions:\n");
            foreach (var t in tools) sb.Append('\n').Append(Json(t));
            sb.Append("\n\nTo call functions, reply with:\n").Append(syntax.Open).Append(syntax.CallPrefix).Append("FUNCTION_NAME")
              .Append(syntax.NameSuffix).Append("{\"argument\": \"value\"}").Append(syntax.CallSuffix).Append(syntax.Close);
        }
        return sb.ToString();
    }

    private static string Json(ToolDefinition t)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", t.Name);
            if (t.Description is not null) w.WriteString("description", t.Description);
            w.WritePropertyName("parameters");
            if (t.ParametersSchema is { } p) p.WriteTo(w);
            else { w.WriteStartObject(); w.WriteString("type", "object"); w.WriteEndObject(); }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
