namespace Whale.Models;

/// <summary>
/// Per-sequence K/V cache in F16 (llama.cpp's default type): for each layer, K and V rows of
/// <see cref="KvDim"/> values per position. A single-stream cache (<see cref="CreateSingleStream"/>) holds one row
/// per position and no V rows (deepseek2's MLA cache: normalized latent and rotated rope key).
/// </summary>
public sealed class KvCache
{
    private readonly Half[][] _k;
    private readonly Half[][]? _v;

    public KvCache(int layers, int contextSize, int kvDim) : this(layers, contextSize, kvDim, separateValues: true)
    {
    }

    private KvCache(int layers, int contextSize, int kvDim, bool separateValues)
    {
        if (contextSize <= 0) throw new ArgumentOutOfRangeException(nameof(contextSize));
        Layers = layers; ContextSize = contextSize; KvDim = kvDim;
        _k = new Half[layers][];
        _v = separateValues ? new Half[layers][] : null;
        for (int l = 0; l < layers; l++)
        {
            _k[l] = new Half[(long)contextSize * kvDim];
            if (_v is not null) _v[l] = new Half[(long)contextSize * kvDim];
        }
    }

    /// <summary>A cache of one F16 row of <paramref name="rowDim"/> values per position and layer, without V rows.</summary>
    public static KvCache CreateSingleStream(int layers, int contextSize, int rowDim) => new(layers, contextSize, rowDim, separateValues: false);

    /// <summary>False for a single-stream cache (only K rows).</summary>
    public bool HasValues => _v is not null;

    public int Layers { get; }
    public int ContextSize { get; }
    public int KvDim { get; }
    /// <summary>Positions [0, Length) hold valid entries.</summary>
    public int Length { get; set; }

    /// <summary>Bytes held by the cache.</summary>
    public long Bytes => (HasValues ? 2L : 1L) * Layers * ContextSize * KvDim * 2;

    internal Span<Half> K(int layer, int pos, int count) => _k[layer].AsSpan(pos * KvDim, count * KvDim);
    internal Span<Half> V(int layer, int pos, int count) =>
        (_v ?? throw new InvalidOperationException("a single-stream cache has no V rows"))[layer].AsSpan(pos * KvDim, count * KvDim);
}
