namespace Whale.Engine;

/// <summary>One generation request: a tokenized prompt, how to continue it, and how many continuations.</summary>
/// <param name="PromptTokens">The prompt (chat template already applied); at least one token.</param>
/// <param name="Options">Sampling, length, stop strings, reasoning, thinking budget and log-probabilities, applied
/// to every choice (choice <c>i &gt; 0</c> with a set seed uses seed + i).</param>
public sealed record EngineRequest(IReadOnlyList<int> PromptTokens, GenerationOptions Options)
{
    /// <summary>Number of independent continuations (choices) of the prompt; at least 1.</summary>
    public int N { get; init; } = 1;

    /// <summary>
    /// Cache-isolation key (the API's <c>user</c> / <c>user_id</c>): cached prompt prefixes are shared only between
    /// requests with the same key (null is a key of its own).
    /// </summary>
    public string? CacheKey { get; init; }

    /// <summary>An id for logs and diagnostics.</summary>
    public string? Id { get; init; }
}
