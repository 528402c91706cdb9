using System.Diagnostics;

namespace Whale.Constraints;

/// <summary>
/// A <see cref="JsonGrammar"/> applied to one sequence: an incremental pushdown state over the output bytes and a
/// token mask computed from it (trie walk with pruning; the inside of a string uses the precomputed plain-token
/// character counts). When the document is complete only end-of-generation tokens are allowed.
/// </summary>
internal sealed class GrammarConstraint : ITokenConstraint
{
    private readonly TokenIndex _index;
    private readonly bool[] _allowed;
    private MachineState? _state;
    private bool _ended;
    // The inside of one string gives the same mask at every character while the room left exceeds the longest
    // token: the state below the string frame is the same object, so (parent, node, room) identifies the mask.
    private (MachineState? Parent, StringNode? Node, long Room) _lastString;

    public GrammarConstraint(JsonGrammar grammar, TokenIndex index)
    {
        _index = index;
        _allowed = new bool[index.VocabSize];
        _state = new MachineState(new RootFrame(grammar.Root, grammar.LeadingWhitespace, false), null);
    }

    /// <summary>Total time spent computing masks, and how many (for benchmarks and diagnostics).</summary>
    public TimeSpan MaskTime { get; private set; }
    public int MaskCount { get; private set; }

    /// <summary>The constraint was broken by a token it did not allow (for example a forced one); it no longer masks.</summary>
    public bool Broken => _state is null && !_ended;

    public bool IsComplete => _ended || (_state?.IsComplete ?? false);

    public void ApplyMask(Span<float> logits)
    {
        if (_state is null) return;
        long start = Stopwatch.GetTimestamp();
        var key = StringKey(_state);
        if (key.Node is null || key != _lastString) ComputeAllowed(_state);
        _lastString = key;
        int n = Math.Min(logits.Length, _allowed.Length);
        for (int i = 0; i < n; i++) if (!_allowed[i]) logits[i] = float.NegativeInfinity;
        for (int i = n; i < logits.Length; i++) logits[i] = float.NegativeInfinity;
        MaskTime += Stopwatch.GetElapsedTime(start);
        MaskCount++;
    }

    private (MachineState? Parent, StringNode? Node, long Room) StringKey(MachineState state) =>
        state.Top is StringFrame { InCharacters: true } sf
            ? (state.Parent, sf.Node, Math.Min((long)sf.Node.MaxLength - sf.Length, _index.MaxPlainChars + 1L))
            : default;

    /// <summary>Fills the allowed-token table for <paramref name="state"/>.</summary>
    internal bool[] ComputeAllowed(MachineState state)
    {
        var allowed = _allowed;
        Array.Clear(allowed);
        if (state.IsComplete) foreach (int e in _index.Eog) allowed[e] = true;
        if (state.IsFinal) return allowed;
        if (state.Top is StringFrame { InCharacters: true } sf)
        {
            long room = (long)sf.Node.MaxLength - sf.Length;
            var plain = _index.PlainChars;
            for (int i = 0; i < plain.Length; i++)
            {
                int c = plain[i];
                if (c >= 0 && c <= room) allowed[i] = true;
            }
            Walk(_index.NonPlain, 0, state, allowed);
        }
        else
        {
            Walk(_index.All, 0, state, allowed);
        }
        return allowed;
    }

    private static void Walk(TokenIndex.Trie trie, int node, MachineState state, bool[] allowed)
    {
        var label = trie.Label;
        var end = trie.End;
        for (int c = node + 1; c < end[node]; c = end[c])
        {
            var next = MachineState.Feed(state, label[c]);
            if (next is null) continue;
            for (int k = trie.TokenStart[c]; k < trie.TokenStart[c + 1]; k++) allowed[trie.Tokens[k]] = true;
            if (end[c] > c + 1) Walk(trie, c, next, allowed);
        }
    }

    public void Accept(int token)
    {
        if (_state is null) return;
        if (Array.IndexOf(_index.Eog, token) >= 0)
        {
            _ended = _state.IsComplete;
            _state = null;
            return;
        }
        AcceptBytes(_index.Bytes(token));
    }

    /// <summary>Advances by raw output bytes (a constraint that starts in the middle of a token).</summary>
    internal void AcceptBytes(ReadOnlySpan<byte> bytes)
    {
        var s = _state;
        foreach (byte b in bytes)
        {
            if (s is null) break;
            s = MachineState.Feed(s, b);
        }
        _state = s;
    }
}
