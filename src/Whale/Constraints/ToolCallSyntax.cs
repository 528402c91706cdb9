using Whale.Tokenization;

namespace Whale.Constraints;

/// <summary>
/// How a model family writes tool calls: <c>Open</c>, then per call <c>CallPrefix</c> NAME <c>NameSuffix</c>
/// ARGUMENTS <c>CallSuffix</c>, calls separated by <c>Separator</c>, then <c>Close</c>.
/// </summary>
/// <param name="Open">Before the first call (may be empty).</param>
/// <param name="CallPrefix">Before each call's name.</param>
/// <param name="NameSuffix">Between the name and the JSON arguments (starts with a byte no name contains).</param>
/// <param name="CallSuffix">After the arguments.</param>
/// <param name="Separator">Between calls.</param>
/// <param name="Close">After the last call (may be empty).</param>
public sealed record ToolCallSyntax(string Open, string CallPrefix, string NameSuffix, string CallSuffix, string Separator, string Close)
{
    /// <summary>DeepSeek V3 / R1 / R1-Distill: <c>&lt;｜tool▁calls▁begin｜&gt;&lt;｜tool▁call▁begin｜&gt;function&lt;｜tool▁sep｜&gt;NAME\n```json\n{…}\n```&lt;｜tool▁call▁end｜&gt;&lt;｜tool▁calls▁end｜&gt;</c>.</summary>
    public static ToolCallSyntax DeepSeek { get; } = new("<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>function<｜tool▁sep｜>", "\n```json\n",
        "\n```<｜tool▁call▁end｜>", "\n", "<｜tool▁calls▁end｜>");

    /// <summary>Qwen2.5 / Qwen3 (Hermes style): <c>&lt;tool_call&gt;\n{"name": "NAME", "arguments": {…}}\n&lt;/tool_call&gt;</c>.</summary>
    public static ToolCallSyntax Hermes { get; } = new("", "<tool_call>\n{\"name\": \"", "\", \"arguments\": ", "}\n</tool_call>", "\n", "");

    /// <summary>The text that starts the calls: <see cref="Open"/>, or the part of <see cref="CallPrefix"/> up to its
    /// first newline (Hermes: <c>&lt;tool_call&gt;</c>).</summary>
    public string TriggerText => Open.Length > 0 ? Open : CallPrefix.Split('\n')[0];

    /// <summary>The syntax a chat template family uses (Hermes for Qwen and Llama 3 templates).</summary>
    public static ToolCallSyntax For(ChatTemplateKind kind) => kind switch
    {
        ChatTemplateKind.DeepSeekR1 or ChatTemplateKind.DeepSeekR1Distill or ChatTemplateKind.DeepSeekV3 or ChatTemplateKind.DeepSeekV2 => DeepSeek,
        _ => Hermes,
    };
}
