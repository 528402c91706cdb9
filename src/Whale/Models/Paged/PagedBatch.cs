namespace Whale.Models.Paged;

/// <summary>
/// The input of one batched forward: tokens of several sequences (prefill chunks and decode tokens mixed), each
/// sequence's tokens contiguous and at consecutive positions, with the sequence's block table. Reused step after
/// step (arrays grow, never shrink).
/// </summary>
internal sealed class PagedBatch
{
    public int[] Tokens = new int[64];
    public int[] Positions = new int[64];
    /// <summary>Per token: the sequence (index into the per-sequence arrays).</summary>
    public int[] TokenSeq = new int[64];
    public int TokenCount;

    /// <summary>Per sequence: first token in <see cref="Tokens"/>, and how many.</summary>
    public int[] SeqStart = new int[8], SeqCount = new int[8];
    /// <summary>Per sequence: cache positions after this step (its last position + 1).</summary>
    public int[] SeqContext = new int[8];
    /// <summary>Per sequence: whether its last token's logits are wanted, and then the row they go to.</summary>
    public int[] SeqLogitRow = new int[8];
    /// <summary>Per sequence: block ids; position p lives in slot table[p / BlockSize] · BlockSize + p % BlockSize.</summary>
    public int[][] SeqBlocks = new int[8][];
    public int SeqCount_;

    /// <summary>Sequences in the batch.</summary>
    public int Sequences => SeqCount_;

    /// <summary>Rows of logits the forward writes (sequences that want logits).</summary>
    public int LogitRows;

    public void Clear()
    {
        TokenCount = 0;
        SeqCount_ = 0;
        LogitRows = 0;
    }

    /// <summary>Adds a sequence's tokens [from, from + count) of <paramref name="tokens"/> at positions starting at <paramref name="from"/>.</summary>
    public void Add(IReadOnlyList<int> tokens, int from, int count, int[] blocks, bool wantLogits)
    {
        int s = SeqCount_++;
        if (s == SeqStart.Length)
        {
            int n = s * 2;
            Array.Resize(ref SeqStart, n); Array.Resize(ref SeqCount, n); Array.Resize(ref SeqContext, n);
            Array.Resize(ref SeqLogitRow, n); Array.Resize(ref SeqBlocks, n);
        }
        if (TokenCount + count > Tokens.Length)
        {
            int n = Math.Max(Tokens.Length * 2, TokenCount + count);
            Array.Resize(ref Tokens, n); Array.Resize(ref Positions, n); Array.Resize(ref TokenSeq, n);
        }
        SeqStart[s] = TokenCount;
        SeqCount[s] = count;
        SeqContext[s] = from + count;
        SeqBlocks[s] = blocks;
        SeqLogitRow[s] = wantLogits ? LogitRows++ : -1;
        for (int i = 0; i < count; i++)
        {
            Tokens[TokenCount] = tokens[from + i];
            Positions[TokenCount] = from + i;
            TokenSeq[TokenCount] = s;
            TokenCount++;
        }
    }
}
