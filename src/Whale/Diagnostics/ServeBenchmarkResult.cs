namespace Whale.Diagnostics;

/// <summary>One load level of <see cref="ServeBenchmark"/>. Latencies in milliseconds; pNN = NNth percentile.</summary>
public sealed record ServeBenchmarkResult
{
    /// <summary>The workload that was run.</summary>
    public required ServeWorkload Workload { get; init; }
    /// <summary>Requests completed.</summary>
    public int Requests { get; init; }
    /// <summary>Wall time of the level.</summary>
    public double Seconds { get; init; }
    /// <summary>Tokens generated in all.</summary>
    public long GeneratedTokens { get; init; }
    /// <summary>Prompt tokens submitted in all.</summary>
    public long PromptTokens { get; init; }
    /// <summary>Time to first token (submission to first token event).</summary>
    public Percentiles Ttft { get; init; }
    /// <summary>Time per output token after the first, per request (mean gap of the request).</summary>
    public Percentiles Tpot { get; init; }
    /// <summary>Inter-token latency: every gap between two consecutive tokens of a request.</summary>
    public Percentiles Itl { get; init; }
    /// <summary>End-to-end latency (submission to last event).</summary>
    public Percentiles E2e { get; init; }
    /// <summary>Prefix-cache hits / queries (prompt tokens) during the level.</summary>
    public double CacheHitRate { get; init; }
    /// <summary>Tokens per batched forward, when the engine reports steps (0 otherwise).</summary>
    public double MeanBatchTokens { get; init; }

    /// <summary>Requests kept in flight (closed loop) or the cap on them (Poisson).</summary>
    public int Concurrency => Workload.Concurrency;
    /// <summary>Generated tokens per second over the level.</summary>
    public double GeneratedPerSecond => Seconds > 0 ? GeneratedTokens / Seconds : 0;
    /// <summary>Requests per second over the level.</summary>
    public double RequestsPerSecond => Seconds > 0 ? Requests / Seconds : 0;
}
