namespace Whale.Engine;

/// <summary>Limits of a <see cref="SerialEngine"/>.</summary>
public sealed record SerialEngineOptions
{
    /// <summary>Sequences served at once (one KV cache each; round-robin, one token each per turn). Default 1.</summary>
    public int Parallel { get; init; } = 1;

    /// <summary>Extra idle caches kept only to remember prefixes of finished requests. Default 1.</summary>
    public int SpareCaches { get; init; } = 1;

    /// <summary>Most requests waiting to start; one more is refused with <see cref="EngineQueueFullException"/>.</summary>
    public int MaxWaiting { get; init; } = 64;

    /// <summary>Tokens per sequence (default: the model's <see cref="WhaleModel.ContextSize"/>).</summary>
    public int? ContextSize { get; init; }
}
