namespace Whale.Engine.Scheduling;

/// <summary>
/// One sequence (one choice of a request) as the scheduler sees it: its tokens (prompt, then generated), how many
/// of them have keys/values in the cache, and its block table.
/// </summary>
internal sealed class Sequence(IReadOnlyList<int> prompt, string? cacheKey)
{
    /// <summary>Prompt then generated tokens.</summary>
    public List<int> Tokens { get; } = [.. prompt];

    public int PromptLength { get; } = prompt.Count;

    /// <summary>Cache-isolation key: prefix blocks are shared only between sequences with the same key.</summary>
    public string? CacheKey { get; } = cacheKey;

    /// <summary>Leading tokens whose keys/values are in the cache.</summary>
    public int NumComputed { get; set; }

    /// <summary>Block ids, position p in Blocks[p / BlockSize]; the first <see cref="BlockCount"/> are valid.</summary>
    public int[] Blocks { get; set; } = new int[4];

    public int BlockCount { get; set; }

    /// <summary>Leading full blocks registered in (or taken from) the prefix cache, and the chain hash after them.</summary>
    public int NumHashed { get; set; }

    public long LastHash { get; set; }

    /// <summary>True while the sequence is in the scheduler's running list.</summary>
    public bool IsRunning { get; set; }

    /// <summary>Prompt tokens taken from the prefix cache at its first admission (-1 before it).</summary>
    public int CachedPromptTokens { get; set; } = -1;

    /// <summary>Times it was preempted (its blocks freed, to be recomputed).</summary>
    public int Preemptions { get; set; }

    /// <summary>The engine's state for this sequence.</summary>
    public object? Owner { get; set; }

    public void AddBlock(int block)
    {
        if (BlockCount == Blocks.Length)
        {
            var grown = new int[Blocks.Length * 2];
            Blocks.AsSpan(0, BlockCount).CopyTo(grown);
            Blocks = grown;
        }
        Blocks[BlockCount++] = block;
    }
}
