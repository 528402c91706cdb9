namespace Whale.Models;

/// <summary>
/// Per-sequence K/V cache in F16 (llama.cpp's default type): for each layer, K and V rows of
/// <see cref="KvDim"/> values per position.
/// </summary>
public sealed class KvCache
{
    private readonly Half[][] _k, _v;

    public KvCache(int layers, int contextSize, int kvDim)
    {
        if (contextSize <= 0) throw new ArgumentOutOfRangeException(nameof(contextSize));
        Layers = layers; ContextSize = contextSize; KvDim = kvDim;
        _k = new Half[layers][]; _v = new Half[layers][];
        for (int l = 0; l < layers; l++) { _k[l] = new Half[(long)contextSize * kvDim]; _v[l] = new Half[(long)contextSize * kvDim]; }
    }

    public int Layers { get; }
    public int ContextSize { get; }
    public int KvDim { get; }
    /// <summary>Positions [0, Length) hold valid entries.</summary>
    public int Length { get; set; }

    /// <summary>Bytes held by the cache.</summary>
    public long Bytes => 2L * Layers * ContextSize * KvDim * 2;

    internal Span<Half> K(int layer, int pos, int count) => _k[layer].AsSpan(pos * KvDim, count * KvDim);
    internal Span<Half> V(int layer, int pos, int count) => _v[layer].AsSpan(pos * KvDim, count * KvDim);
}
