using Whale.Models;
using Whale.Models.Paged;

namespace Whale.Tests.Engine;

/// <summary>
/// A model for scheduler tests: it stores each token id in its KV slot and, for a sequence's last token, reads the
/// whole sequence back through the block table and answers one token determined by that history (<see cref="Next"/>),
/// so any paging or prefix-sharing mistake changes the output. It checks the batch limits as it goes.
/// </summary>
internal sealed class FakePagedModel(ModelConfig config, int maxBatchTokens) : IPagedModel
{
    private int[] _slots = [];
    private int _blockSize;

    public ModelConfig Config { get; } = config;
    public int MaxBatchTokens { get; } = maxBatchTokens;
    public long Forwards, Tokens;
    public int MaxSequencesSeen;

    public PagedKvCache CreatePagedCache(int numBlocks, int blockSize)
    {
        _slots = new int[numBlocks * blockSize];
        _blockSize = blockSize;
        return new PagedKvCache(1, 1, 1, 1);
    }

    /// <summary>The token that follows <paramref name="history"/> (an ordinary token, never end-of-generation).</summary>
    public static int Next(IReadOnlyList<int> history, int count)
    {
        uint h = 2166136261;
        for (int i = 0; i < count; i++) h = (h ^ (uint)history[i]) * 16777619;
        return (int)(h % 3000);
    }

    public void ForwardPaged(PagedBatch batch, PagedKvCache cache, Span<float> logits)
    {
        Assert.InRange(batch.TokenCount, 1, MaxBatchTokens);
        Forwards++;
        Tokens += batch.TokenCount;
        MaxSequencesSeen = Math.Max(MaxSequencesSeen, batch.Sequences);
        for (int t = 0; t < batch.TokenCount; t++)
        {
            int s = batch.TokenSeq[t], pos = batch.Positions[t];
            Assert.Equal(batch.SeqContext[s] - batch.SeqCount[s] + (t - batch.SeqStart[s]), pos);
            _slots[batch.SeqBlocks[s][pos / _blockSize] * _blockSize + pos % _blockSize] = batch.Tokens[t];
        }
        var history = new List<int>();
        int vocab = Config.VocabSize;
        for (int s = 0; s < batch.Sequences; s++)
        {
            int row = batch.SeqLogitRow[s];
            if (row < 0) continue;
            history.Clear();
            for (int p = 0; p < batch.SeqContext[s]; p++) history.Add(_slots[batch.SeqBlocks[s][p / _blockSize] * _blockSize + p % _blockSize]);
            var l = logits.Slice(row * vocab, vocab);
            l.Clear();
            l[Next(history, history.Count)] = 10;
        }
    }
}
