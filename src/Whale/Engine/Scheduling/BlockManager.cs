namespace Whale.Engine.Scheduling;

/// <summary>
/// Metadata of the paged KV storage (it never touches the storage itself): which blocks are free, how many
/// sequences hold each block, and the prefix cache. A full block whose keys/values have been computed is
/// registered under a hash chained over all full blocks before it (seeded with the cache key), so a later sequence
/// with the same leading tokens (and key) takes the block instead of computing it again. Unreferenced blocks stay
/// findable until they are reused: the free list is LRU (blocks freed with a hash go to its tail, blocks without one
/// to its head), and allocation takes its head, evicting that block's hash.
/// </summary>
internal sealed class BlockManager
{
    private readonly int[] _refs;
    private readonly long[] _hash;
    private readonly bool[] _hashed;
    private readonly int[]?[] _content;
    private readonly string?[] _key;
    private readonly int[] _prev, _next;
    private readonly Dictionary<long, int> _byHash = [];
    private int _head = -1, _tail = -1;

    public BlockManager(int numBlocks, int blockSize)
    {
        if (numBlocks <= 0) throw new ArgumentOutOfRangeException(nameof(numBlocks));
        if (blockSize <= 0) throw new ArgumentOutOfRangeException(nameof(blockSize));
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        _refs = new int[numBlocks];
        _hash = new long[numBlocks];
        _hashed = new bool[numBlocks];
        _content = new int[]?[numBlocks];
        _key = new string?[numBlocks];
        _prev = new int[numBlocks];
        _next = new int[numBlocks];
        for (int b = 0; b < numBlocks; b++) PushTail(b);
    }

    public int NumBlocks { get; }
    public int BlockSize { get; }

    /// <summary>Blocks no sequence holds (cached ones included: they are evicted on demand).</summary>
    public int FreeBlocks { get; private set; }

    /// <summary>Blocks held by at least one sequence.</summary>
    public int UsedBlocks => NumBlocks - FreeBlocks;

    /// <summary>Blocks registered in the prefix cache (held or not).</summary>
    public int CachedBlocks => _byHash.Count;

    /// <summary>Sequences holding <paramref name="block"/>.</summary>
    public int RefCount(int block) => _refs[block];

    /// <summary>The hash of a full block given the hash of the blocks before it (0 for the first).</summary>
    public static long Hash(long previous, IReadOnlyList<int> tokens, int start, int count, string? key)
    {
        ulong h = previous == 0 ? 14695981039346656037UL ^ (ulong)(uint)StringComparer.Ordinal.GetHashCode(key ?? "\0") : (ulong)previous;
        for (int i = 0; i < count; i++)
        {
            h ^= (uint)tokens[start + i];
            h *= 1099511628211UL;
            h ^= h >> 29;
        }
        return (long)(h | 1);   // never 0
    }

    /// <summary>
    /// The cached blocks that hold the first full blocks of <paramref name="tokens"/> (at most
    /// <paramref name="maxBlocks"/>), in order, appended to <paramref name="blocks"/>; returns the chain hash after the
    /// last match (0 when none). Changes nothing.
    /// </summary>
    public long MatchPrefix(IReadOnlyList<int> tokens, int maxBlocks, string? key, List<int> blocks)
    {
        long h = 0;
        for (int i = 0; i < maxBlocks; i++)
        {
            long next = Hash(h, tokens, i * BlockSize, BlockSize, key);
            if (!_byHash.TryGetValue(next, out int b) || !Holds(b, tokens, i * BlockSize, key)) break;
            blocks.Add(b);
            h = next;
        }
        return h;
    }

    private bool Holds(int block, IReadOnlyList<int> tokens, int start, string? key)
    {
        var c = _content[block]!;
        if (!string.Equals(_key[block], key, StringComparison.Ordinal)) return false;
        for (int i = 0; i < BlockSize; i++) if (c[i] != tokens[start + i]) return false;
        return true;
    }

    /// <summary>Takes one more reference on a (cached) block, out of the free list if nobody held it.</summary>
    public void Acquire(int block)
    {
        if (_refs[block]++ == 0) Unlink(block);
    }

    /// <summary>A fresh block (reference count 1): the least recently freed one, whose cached hash is dropped.</summary>
    public int Allocate()
    {
        if (_head < 0) throw new InvalidOperationException("no free KV block");
        int b = _head;
        Unlink(b);
        Forget(b);
        _refs[b] = 1;
        return b;
    }

    /// <summary>Drops one reference; a block nobody holds goes back to the free list (and stays cached if it has a hash).</summary>
    public void Release(int block)
    {
        if (_refs[block] <= 0) throw new InvalidOperationException($"block {block} is not held");
        if (--_refs[block] > 0) return;
        if (_hashed[block]) PushTail(block);
        else PushHead(block);
    }

    /// <summary>Registers a held, fully computed block under <paramref name="hash"/>; false when another block already has it.</summary>
    public bool Register(int block, long hash, IReadOnlyList<int> tokens, int start, string? key)
    {
        if (_hashed[block] || _byHash.ContainsKey(hash)) return false;
        var c = _content[block] ??= new int[BlockSize];
        for (int i = 0; i < BlockSize; i++) c[i] = tokens[start + i];
        _key[block] = key;
        _hash[block] = hash;
        _hashed[block] = true;
        _byHash[hash] = block;
        return true;
    }

    private void Forget(int b)
    {
        if (!_hashed[b]) return;
        _byHash.Remove(_hash[b]);
        _hashed[b] = false;
        _key[b] = null;
    }

    private void PushTail(int b)
    {
        _prev[b] = _tail; _next[b] = -1;
        if (_tail >= 0) _next[_tail] = b; else _head = b;
        _tail = b;
        FreeBlocks++;
    }

    private void PushHead(int b)
    {
        _next[b] = _head; _prev[b] = -1;
        if (_head >= 0) _prev[_head] = b; else _tail = b;
        _head = b;
        FreeBlocks++;
    }

    private void Unlink(int b)
    {
        if (_prev[b] >= 0) _next[_prev[b]] = _next[b]; else _head = _next[b];
        if (_next[b] >= 0) _prev[_next[b]] = _prev[b]; else _tail = _prev[b];
        _prev[b] = _next[b] = -1;
        FreeBlocks--;
    }
}
