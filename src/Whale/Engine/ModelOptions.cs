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
    /// Copy Q8_0, Q4_K, Q5_K and Q6_K weight matrices at load into the row-lane kernels' aligned layout (on AVX-512 +
    /// AVX-VNNI machines): about 2x faster prompts and batches, resident memory about the file size (the copied
    /// tensors' mapped pages are released), results equal to llama.cpp's within float rounding instead of bit for
    /// bit (off: the in-place kernels, llama.cpp's summation order). Default: on, unless the environment sets
    /// WHALE_REPACK=0.
    /// </summary>
    public bool RepackWeights { get; init; } = Models.WeightLoader.RepackByDefault;

    /// <summary>Chat template name that replaces the file's template (see <see cref="Tokenization.ChatTemplate.FromName"/>).</summary>
    public string? ChatTemplate { get; init; }
}
