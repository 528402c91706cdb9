namespace Whale.Engine;

/// <summary>
/// The log-probability of a token under the model's distribution (log-softmax of the raw logits, before sampling
/// settings), with the most likely tokens at that position in <see cref="Top"/> (empty for the alternatives
/// themselves).
/// </summary>
/// <param name="TokenId">The token.</param>
/// <param name="Logprob">Natural-log probability, ≤ 0.</param>
public sealed record TokenLogprob(int TokenId, float Logprob)
{
    /// <summary>The most likely tokens at this position, best first.</summary>
    public IReadOnlyList<TokenLogprob> Top { get; init; } = [];
}
