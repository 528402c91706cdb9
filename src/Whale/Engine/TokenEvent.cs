namespace Whale.Engine;

/// <summary>
/// One step of a generation: a token with the text it completed (split into reasoning and answer), or the final
/// event carrying <see cref="FinishReason"/> ("stop", "length", "cancelled").
/// </summary>
public readonly record struct TokenEvent(int TokenId, string Reasoning, string Content, string? FinishReason = null)
{
    /// <summary>True for the last event of a generation.</summary>
    public bool IsFinal => FinishReason is not null;

    /// <summary>True when the token was generated inside the reasoning block (it counts as a reasoning token, the
    /// closing <c>&lt;/think&gt;</c> included).</summary>
    public bool InReasoning { get; init; }

    /// <summary>The token's log-probability and the most likely alternatives, when
    /// <see cref="GenerationOptions.TopLogprobs"/> asked for them; null otherwise and on events without a token.</summary>
    public TokenLogprob? Logprob { get; init; }
}
