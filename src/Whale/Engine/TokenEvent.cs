namespace Whale.Engine;

/// <summary>
/// One step of a generation: a token with the text it completed (split into reasoning and answer), or the final
/// event carrying <see cref="FinishReason"/> ("stop", "length", "cancelled").
/// </summary>
public readonly record struct TokenEvent(int TokenId, string Reasoning, string Content, string? FinishReason = null)
{
    /// <summary>True for the last event of a generation.</summary>
    public bool IsFinal => FinishReason is not null;
}
