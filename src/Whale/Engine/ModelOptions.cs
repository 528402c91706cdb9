namespace Whale.Engine;

/// <summary>How a model is loaded and run.</summary>
public sealed record ModelOptions
{
    /// <summary>Worker threads for the matrix products (default: all cores).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Context size of a generator's cache in tokens (default: min(model context, 4096)).</summary>
    public int? ContextSize { get; init; }

    /// <summary>Tokens per forward micro-batch during prompt processing.</summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>
    /// Copy Q8_0 weight matrices at load into the matrix kernels' aligned layout (on AVX-512 machines): same
    /// results bit for bit, faster products, resident memory about the file size (the copied
    /// tensors' mapped pages are released). Default: on, unless the environment sets WHALE_REPACK=0.
    /// </summary>
    public bool RepackWeights { get; init; } = Models.WeightLoader.RepackByDefault;

    /// <summary>Chat template name that replaces the file's template (see <see cref="Tokenization.ChatTemplate.FromName"/>).</summary>
    public string? ChatTemplate { get; init; }
}
