namespace Whale.Engine;

/// <summary>One event of a request's stream: a token (or the end) of choice <see cref="Index"/>.</summary>
/// <param name="Index">The choice, 0 ≤ index &lt; <see cref="EngineRequest.N"/>.</param>
/// <param name="Token">The token and its text, or the choice's final event.</param>
public sealed record EngineEvent(int Index, TokenEvent Token)
{
    /// <summary>On the final event of a choice: the usage of that choice; null on the other events.</summary>
    public EngineUsage? Usage { get; init; }
}
