using Whale.Constraints;
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

    /// <summary>
    /// Most reasoning tokens before the generator closes the reasoning block itself (it then emits
    /// <c>&lt;/think&gt;</c> and the model continues with its answer); null = no limit, 0 = no reasoning. Only
    /// applies while <see cref="ParseReasoning"/> sees an open reasoning block.
    /// </summary>
    public int? ThinkingBudget { get; init; }

    /// <summary>
    /// Report each token's log-probability with this many most likely alternatives (0..20) in
    /// <see cref="TokenEvent.Logprob"/>; null = no log-probabilities.
    /// </summary>
    public int? TopLogprobs { get; init; }

    /// <summary>
    /// Control tokens' text is part of the answer (off by default). Tool calling turns it on: DeepSeek V3/R1 write
    /// tool calls with control tokens (<c>&lt;｜tool▁calls▁begin｜&gt;</c>…) that would otherwise decode to nothing.
    /// </summary>
    public bool RenderSpecialTokens { get; init; }

    /// <summary>
    /// Structured output: makes a fresh constraint for each generated sequence (called once per sequence, so
    /// choices of one request do not share state). The generator masks the logits with it before sampling every
    /// answer token (not inside the reasoning block: the constraint starts after <c>&lt;/think&gt;</c>) and feeds
    /// it the chosen token. Null = unconstrained.
    /// </summary>
    public Func<ITokenConstraint>? Constraint { get; init; }

    /// <summary>
    /// Multi-token-prediction speculative decoding when the model file carries an MTP block (deepseek2 <c>nextn</c>
    /// tensors; ignored otherwise): the block drafts the token after next and the main model verifies it in its next
    /// step, two rows in one forward. Tokens are still chosen from the main model's logits, computed bit for bit as
    /// plain decoding computes them, so the output is identical with and without (greedy or sampled, same seed); only
    /// the speed changes. Off by default: on CPU a two-row step costs about two one-row steps for the default model
    /// (compute-bound) and for MoE files (two tokens route to different experts), so it pays only where a two-row
    /// step costs little more than one (docs/bench-mtp.md). <see cref="Generator"/> (and the serial engine built on
    /// it) speculates; the continuous batching engine does not.
    /// </summary>
    public bool Speculative { get; init; }
}
