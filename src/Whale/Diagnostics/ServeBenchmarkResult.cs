namespace Whale.Diagnostics;

/// <summary>One load level of <see cref="ServeBenchmark"/>.</summary>
/// <param name="Concurrency">Requests kept in flight.</param>
/// <param name="Requests">Requests completed.</param>
/// <param name="Seconds">Wall time of the level.</param>
/// <param name="GeneratedTokens">Tokens generated in all.</param>
/// <param name="PromptTokens">Prompt tokens submitted in all.</param>
/// <param name="TtftMedianMs">Median time to first token (submission to first token event), ms.</param>
/// <param name="TtftP90Ms">90th percentile time to first token, ms.</param>
/// <param name="TpotMedianMs">Median time per output token after the first, ms.</param>
/// <param name="E2eMedianMs">Median end-to-end latency, ms.</param>
/// <param name="CacheHitRate">Prefix-cache hits / queries (prompt tokens) during the level.</param>
/// <param name="MeanBatchTokens">Tokens per batched forward, when the engine reports steps (0 otherwise).</param>
public sealed record ServeBenchmarkResult(int Concurrency, int Requests, double Seconds, long GeneratedTokens, long PromptTokens,
    double TtftMedianMs, double TtftP90Ms, double TpotMedianMs, double E2eMedianMs, double CacheHitRate, double MeanBatchTokens)
{
    /// <summary>Generated tokens per second over the level.</summary>
    public double GeneratedPerSecond => Seconds > 0 ? GeneratedTokens / Seconds : 0;

    /// <summary>Requests per second over the level.</summary>
    public double RequestsPerSecond => Seconds > 0 ? Requests / Seconds : 0;
}
