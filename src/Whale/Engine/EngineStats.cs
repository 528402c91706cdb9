namespace Whale.Engine;

/// <summary>A snapshot of an engine's state; counters (…Total) only grow.</summary>
public sealed record EngineStats
{
    /// <summary>Requests being generated now.</summary>
    public int RunningRequests { get; init; }

    /// <summary>Requests admitted but not started.</summary>
    public int WaitingRequests { get; init; }

    /// <summary>Fraction (0..1) of the KV cache held by running requests.</summary>
    public double KvCacheUsage { get; init; }

    /// <summary>Tokens whose keys/values are kept, running or cached for reuse.</summary>
    public long KvCachedTokens { get; init; }

    /// <summary>Tokens the KV cache can hold in all.</summary>
    public long KvCapacityTokens { get; init; }

    /// <summary>Prompt tokens looked up in the prefix cache (vLLM's prefix_cache_queries).</summary>
    public long PrefixCacheQueriesTotal { get; init; }

    /// <summary>Prompt tokens found in the prefix cache (vLLM's prefix_cache_hits).</summary>
    public long PrefixCacheHitsTotal { get; init; }

    /// <summary>Prompt tokens run through the model (prefill work actually done).</summary>
    public long PrefillTokensTotal { get; init; }

    /// <summary>Tokens generated.</summary>
    public long GeneratedTokensTotal { get; init; }

    /// <summary>Requests finished (any finish reason, errors included).</summary>
    public long FinishedRequestsTotal { get; init; }
}
