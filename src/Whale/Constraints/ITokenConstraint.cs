namespace Whale.Constraints;

/// <summary>
/// Restricts which tokens one sequence may generate next (structured output). The generator calls
/// <see cref="ApplyMask"/> on the logits before sampling and <see cref="Accept"/> with the chosen token. One
/// instance per sequence; not thread-safe. Any engine (serial or batching) can apply it per sequence.
/// </summary>
public interface ITokenConstraint
{
    /// <summary>Sets the logits of the tokens not allowed next to negative infinity.</summary>
    void ApplyMask(Span<float> logits);

    /// <summary>Advances the constraint by the token that was generated.</summary>
    void Accept(int token);

    /// <summary>True when the constrained output is complete (then only end-of-generation tokens are allowed).</summary>
    bool IsComplete { get; }
}
