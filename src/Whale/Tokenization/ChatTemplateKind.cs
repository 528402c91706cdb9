namespace Whale.Tokenization;

/// <summary>The chat template families Whale renders natively.</summary>
public enum ChatTemplateKind
{
    /// <summary>DeepSeek-R1 (and V3-style templates that strip old reasoning): system messages joined with "\n\n",
    /// earlier reasoning dropped, generation prompt <c>&lt;｜Assistant｜&gt;&lt;think&gt;\n</c>.</summary>
    DeepSeekR1,

    /// <summary>DeepSeek-R1-Distill-Qwen / -Llama: like R1, but only the last system message is kept.</summary>
    DeepSeekR1Distill,

    /// <summary>DeepSeek-V3 (Dec 2024): the R1 skeleton without reasoning stripping; generation prompt <c>&lt;｜Assistant｜&gt;</c>.</summary>
    DeepSeekV3,

    /// <summary>DeepSeek-V2 / V2-Lite chat: <c>User: …\n\n</c> / <c>Assistant: …&lt;eos&gt;</c>.</summary>
    DeepSeekV2,

    /// <summary>Qwen2 / Qwen2.5 ChatML with the default "You are Qwen…" system prompt.</summary>
    Qwen2,

    /// <summary>Qwen3 ChatML (no default system prompt, reasoning kept only after the last user query).</summary>
    Qwen3,

    /// <summary>Llama 3 header format: <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\n…&lt;|eot_id|&gt;</c>.</summary>
    Llama3,
}
