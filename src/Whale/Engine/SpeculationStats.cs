namespace Whale.Engine;

/// <summary>
/// Counters of multi-token-prediction speculative decoding: drafts the MTP block proposed and verified, and how many
/// the main model accepted (each accepted draft is a token without a forward pass of its own).
/// </summary>
public sealed record SpeculationStats
{
    /// <summary>Drafts verified by the main model.</summary>
    public long Drafted { get; init; }

    /// <summary>Drafts equal to the token that was chosen from the main model's logits.</summary>
    public long Accepted { get; init; }

    /// <summary>Accepted / Drafted (0 when nothing was drafted).</summary>
    public double AcceptanceRate => Drafted == 0 ? 0 : (double)Accepted / Drafted;
}
