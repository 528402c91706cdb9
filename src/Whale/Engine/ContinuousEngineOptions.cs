namespace Whale.Engine;

/// <summary>Limits of a <see cref="ContinuousEngine"/>.</summary>
public sealed record ContinuousEngineOptions
{
    /// <summary>Most sequences (choices) running at once, batched in every step. Default 16.</summary>
    public int MaxSequences { get; init; } = 16;

    /// <summary>Most tokens one step (one batched forward) computes: decode tokens plus prefill chunks. Default 256
    /// (capped at the model's batch limit).</summary>
    public int MaxBatchTokens { get; init; } = 256;

    /// <summary>Tokens per KV block. Default 16.</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>Tokens the shared KV storage holds in all (rounded up to whole blocks; at least the context size).
    /// Default: max(2 × context size, 8192).</summary>
    public int? KvCacheTokens { get; init; }

    /// <summary>Most requests waiting to start; one more is refused with <see cref="EngineQueueFullException"/>.</summary>
    public int MaxWaiting { get; init; } = 64;

    /// <summary>Tokens per sequence (default: the model's <see cref="WhaleModel.ContextSize"/>).</summary>
    public int? ContextSize { get; init; }

    /// <summary>Whether full KV blocks are shared by prompt prefix (hash of the leading tokens and the cache key).
    /// When false no block is looked up or registered by prefix: every prompt (and every extra choice) is prefilled
    /// in full and reports 0 cached prompt tokens. Default true.</summary>
    public bool PrefixCaching { get; init; } = true;
}
