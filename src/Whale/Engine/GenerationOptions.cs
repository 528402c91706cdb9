using Whale.Sampling;

namespace Whale.Engine;

/// <summary>What to generate: sampling, length limit, stop strings, reasoning handling.</summary>
public sealed record GenerationOptions
{
    public SamplingParams Sampling { get; init; } = new();
    /// <summary>Most tokens to generate (the context size also limits).</summary>
    public int MaxTokens { get; init; } = 512;
    /// <summary>Generation ends when the answer text contains one of these (the stop text is not returned).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>The prompt ends inside an open <c>&lt;think&gt;</c> block (R1 templates).</summary>
    public bool PromptOpensThinking { get; init; }
    /// <summary>Treat think tags as plain text (raw completion).</summary>
    public bool ParseReasoning { get; init; } = true;
}
