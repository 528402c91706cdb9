using Whale.Models.Paged;

namespace Whale.Engine.Scheduling;

/// <summary>
/// Decides what one engine step computes (vLLM-style unified scheduling, nano-vllm vocabulary): first the running
/// sequences, in admission order, each its remaining tokens (one for decode, the rest of the prompt in chunks for
/// prefill) within the step's token budget, allocating blocks as they grow and preempting the most recently admitted
/// running sequence (blocks freed, recomputed later; it goes back to the front of the queue) when none are free;
/// then, if nothing was preempted, waiting sequences while sequence slots, budget and blocks allow, each starting
/// after its longest cached prefix (unless prefix caching is off). Single-threaded (the engine's loop).
/// </summary>
internal sealed class Scheduler
{
    private readonly LinkedList<Sequence> _waiting = new();
    private readonly List<Sequence> _running = [];
    private readonly List<int> _match = [];

    public Scheduler(BlockManager blocks, int maxSequences, int tokenBudget, bool prefixCaching = true)
    {
        if (maxSequences < 1) throw new ArgumentOutOfRangeException(nameof(maxSequences));
        if (tokenBudget < 1) throw new ArgumentOutOfRangeException(nameof(tokenBudget));
        Blocks = blocks;
        MaxSequences = maxSequences;
        TokenBudget = tokenBudget;
        PrefixCaching = prefixCaching;
    }

    public BlockManager Blocks { get; }
    public int MaxSequences { get; }
    public int TokenBudget { get; }

    /// <summary>Whether blocks are looked up and registered by prefix hash; when false every prompt is computed in full.</summary>
    public bool PrefixCaching { get; }

    public IReadOnlyList<Sequence> Running => _running;
    public int WaitingCount => _waiting.Count;
    public IEnumerable<Sequence> Waiting => _waiting;
    public bool IsIdle => _running.Count == 0 && _waiting.Count == 0;

    /// <summary>Prompt tokens looked up in the prefix cache / found there (first admissions only).</summary>
    public long PrefixQueries { get; private set; }
    public long PrefixHits { get; private set; }
    public long PreemptionsTotal { get; private set; }

    /// <summary>Queues a new sequence.</summary>
    public void Add(Sequence seq) => _waiting.AddLast(seq);

    /// <summary>
    /// Fills <paramref name="batch"/> with this step's work and <paramref name="scheduled"/> with the sequences in it
    /// (same order), each with the number of tokens it runs. Empty when nothing can run.
    /// </summary>
    public void Schedule(PagedBatch batch, List<(Sequence Seq, int Count)> scheduled)
    {
        batch.Clear();
        scheduled.Clear();
        int budget = TokenBudget;
        bool preempted = false;
        for (int i = 0; i < _running.Count && budget > 0; i++)
        {
            var seq = _running[i];
            int n = Math.Min(seq.Tokens.Count - seq.NumComputed, budget);
            if (n <= 0) continue;
            bool selfPreempted = false;
            while (!Grow(seq, seq.NumComputed + n))
            {
                var victim = _running[^1];
                Preempt(victim);
                preempted = true;
                if (victim == seq) { selfPreempted = true; break; }
            }
            if (selfPreempted) break;
            Put(batch, scheduled, seq, n);
            budget -= n;
        }
        if (preempted) return;
        while (_waiting.Count > 0 && _running.Count < MaxSequences && budget > 0)
        {
            var seq = _waiting.First!.Value;
            _match.Clear();
            long hash = PrefixCaching ? Blocks.MatchPrefix(seq.Tokens, (seq.Tokens.Count - 1) / Blocks.BlockSize, seq.CacheKey, _match) : 0;
            int cached = _match.Count * Blocks.BlockSize;
            int n = Math.Min(seq.Tokens.Count - cached, budget);
            int needBlocks = (cached + n + Blocks.BlockSize - 1) / Blocks.BlockSize - _match.Count;
            int takenFromFree = 0;
            foreach (int b in _match) if (Blocks.RefCount(b) == 0) takenFromFree++;
            if (Blocks.FreeBlocks - takenFromFree < needBlocks) break;
            foreach (int b in _match)
            {
                Blocks.Acquire(b);
                seq.AddBlock(b);
            }
            for (int k = 0; k < needBlocks; k++) seq.AddBlock(Blocks.Allocate());
            seq.NumComputed = cached;
            seq.NumHashed = _match.Count;
            seq.LastHash = hash;
            if (seq.CachedPromptTokens < 0)
            {
                seq.CachedPromptTokens = cached;
                if (PrefixCaching)
                {
                    PrefixQueries += seq.PromptLength;
                    PrefixHits += cached;
                }
            }
            _waiting.RemoveFirst();
            _running.Add(seq);
            seq.IsRunning = true;
            Put(batch, scheduled, seq, n);
            budget -= n;
        }
    }

    private static void Put(PagedBatch batch, List<(Sequence, int)> scheduled, Sequence seq, int n)
    {
        batch.Add(seq.Tokens, seq.NumComputed, n, seq.Blocks, wantLogits: seq.NumComputed + n == seq.Tokens.Count);
        scheduled.Add((seq, n));
    }

    /// <summary>Allocates blocks until the sequence can hold <paramref name="tokens"/> tokens; false when the free list runs dry.</summary>
    private bool Grow(Sequence seq, int tokens)
    {
        int need = (tokens + Blocks.BlockSize - 1) / Blocks.BlockSize;
        while (seq.BlockCount < need)
        {
            if (Blocks.FreeBlocks == 0) return false;
            seq.AddBlock(Blocks.Allocate());
        }
        return true;
    }

    /// <summary>After a step: <paramref name="n"/> more tokens of <paramref name="seq"/> are computed; full blocks join the prefix cache (when on).</summary>
    public void Computed(Sequence seq, int n)
    {
        seq.NumComputed += n;
        if (!PrefixCaching) return;
        int bs = Blocks.BlockSize;
        while ((seq.NumHashed + 1) * bs <= seq.NumComputed)
        {
            long h = BlockManager.Hash(seq.LastHash, seq.Tokens, seq.NumHashed * bs, bs, seq.CacheKey);
            Blocks.Register(seq.Blocks[seq.NumHashed], h, seq.Tokens, seq.NumHashed * bs, seq.CacheKey);
            seq.LastHash = h;
            seq.NumHashed++;
        }
    }

    /// <summary>Frees the sequence's blocks and puts it at the front of the queue, to be recomputed.</summary>
    private void Preempt(Sequence seq)
    {
        _running.Remove(seq);
        seq.IsRunning = false;
        FreeBlocks(seq);
        seq.Preemptions++;
        PreemptionsTotal++;
        _waiting.AddFirst(seq);
    }

    /// <summary>Removes a sequence (finished, cancelled or failed) and frees its blocks at once.</summary>
    public void Finish(Sequence seq)
    {
        if (seq.IsRunning)
        {
            _running.Remove(seq);
            seq.IsRunning = false;
        }
        else _waiting.Remove(seq);
        FreeBlocks(seq);
    }

    private void FreeBlocks(Sequence seq)
    {
        // Release in reverse, so a sequence's later blocks are evicted before its prefix.
        for (int i = seq.BlockCount - 1; i >= 0; i--) Blocks.Release(seq.Blocks[i]);
        seq.BlockCount = 0;
        seq.NumComputed = 0;
        seq.NumHashed = 0;
        seq.LastHash = 0;
    }
}
