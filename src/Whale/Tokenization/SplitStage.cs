namespace Whale.Tokenization;

/// <summary>One step of a pre-tokenizer: splits the code points [start, end) into pieces, appending their lengths.</summary>
internal abstract class SplitStage
{
    public abstract void Split(int[] cps, int start, int end, List<int> lengths);
}

/// <summary>
/// A regex-like stage with HF "Isolated" behaviour: the leftmost match at each point is a piece, and the text between
/// matches (the gaps) is kept as pieces too.
/// </summary>
internal sealed class MatchStage : SplitStage
{
    /// <summary>Returns the end of the match starting exactly at pos, or -1 when nothing matches there.</summary>
    public delegate int Matcher(int[] cps, int pos, int end);

    private readonly Matcher _match;

    public MatchStage(Matcher match) => _match = match;

    public override void Split(int[] cps, int start, int end, List<int> lengths)
    {
        int gap = start;
        int pos = start;
        while (pos < end)
        {
            int m = _match(cps, pos, end);
            if (m > pos)
            {
                if (pos > gap)
                    lengths.Add(pos - gap);
                lengths.Add(m - pos);
                pos = m;
                gap = m;
            }
            else
            {
                pos++;
            }
        }
        if (end > gap)
            lengths.Add(end - gap);
    }
}

/// <summary>The trailing-whitespace stage <c>\s+$</c> (the whole trailing whitespace run is one piece).</summary>
internal sealed class TrailingSpaceStage : SplitStage
{
    public override void Split(int[] cps, int start, int end, List<int> lengths)
    {
        int p = end;
        while (p > start && RegexClasses.Space(cps[p - 1]))
            p--;
        if (p > start)
            lengths.Add(p - start);
        if (end > p)
            lengths.Add(end - p);
    }
}
