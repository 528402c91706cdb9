namespace Whale.Models.Paged;

/// <summary>
/// The KV storage of a continuous-batching engine: <see cref="NumBlocks"/> blocks of <see cref="BlockSize"/> token
/// slots, shared by all sequences (which block holds which positions of which sequence is the block table's
/// business, see <see cref="PagedBatch"/>). Per layer, K and V rows of <see cref="KvDim"/> F16 values per slot
/// (slot = block · BlockSize + offset); a single-stream storage has K rows only (deepseek2's MLA latent rows).
/// </summary>
internal sealed class PagedKvCache
{
    private readonly Half[][] _k;
    private readonly Half[][]? _v;

    public PagedKvCache(int layers, int numBlocks, int blockSize, int kvDim, bool separateValues = true)
    {
        if (numBlocks <= 0) throw new ArgumentOutOfRangeException(nameof(numBlocks));
        if (blockSize <= 0) throw new ArgumentOutOfRangeException(nameof(blockSize));
        Layers = layers; NumBlocks = numBlocks; BlockSize = blockSize; KvDim = kvDim;
        _k = new Half[layers][];
        _v = separateValues ? new Half[layers][] : null;
        long slots = (long)numBlocks * blockSize * kvDim;
        if (slots > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(numBlocks), "the KV storage is too large for one array per layer");
        for (int l = 0; l < layers; l++)
        {
            _k[l] = new Half[slots];
            if (_v is not null) _v[l] = new Half[slots];
        }
    }

    public int Layers { get; }
    public int NumBlocks { get; }
    public int BlockSize { get; }
    public int KvDim { get; }
    public bool HasValues => _v is not null;

    /// <summary>Bytes held.</summary>
    public long Bytes => (HasValues ? 2L : 1L) * Layers * NumBlocks * BlockSize * KvDim * 2;

    /// <summary>The K rows of a whole layer (slot-major).</summary>
    public Half[] K(int layer) => _k[layer];

    /// <summary>The V rows of a whole layer (slot-major).</summary>
    public Half[] V(int layer) => (_v ?? throw new InvalidOperationException("a single-stream cache has no V rows"))[layer];
}
