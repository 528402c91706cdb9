using System.Runtime.CompilerServices;
using Whale.Tokenization;

namespace Whale.Constraints;

/// <summary>
/// The vocabulary prepared for masking, built once per tokenizer: each token's bytes (as the streaming decoder
/// emits them), a byte trie over all tokens, a second trie over the tokens that are not plain string text, and for
/// plain tokens (printable ASCII other than <c>"</c> and <c>\</c>, or UTF-8 characters, the last one possibly cut) their character count,
/// so the common case, the inside of a string, costs one pass over an int array instead of a trie walk.
/// </summary>
internal sealed class TokenIndex
{
    private static readonly ConditionalWeakTable<Tokenizer, TokenIndex> Cache = new();
    private static readonly ConditionalWeakTable<Tokenizer, TokenIndex> RenderedCache = new();

    public int VocabSize { get; }
    public int[] PlainChars { get; }
    /// <summary>The most characters of any plain token.</summary>
    public int MaxPlainChars { get; private set; }
    private readonly byte[][] _bytes;

    /// <summary>The bytes the decoder emits for a token (empty for end-of-generation and control tokens).</summary>
    public byte[] Bytes(int token) => (uint)token < (uint)_bytes.Length ? _bytes[token] : [];
    public int[] Eog { get; }
    public Trie All { get; }
    public Trie NonPlain { get; }

    private TokenIndex(Tokenizer tok, bool renderSpecial)
    {
        VocabSize = tok.VocabSize;
        var bytes = new byte[VocabSize][];
        PlainChars = new int[VocabSize];
        for (int i = 0; i < VocabSize; i++)
        {
            bytes[i] = tok.IsEog(i) ? [] : tok.TokenToBytes(i, renderSpecial);
            PlainChars[i] = CountPlain(bytes[i]);
        }
        Eog = tok.EogIds.Where(i => (uint)i < (uint)VocabSize).ToArray();
        _bytes = bytes;
        MaxPlainChars = PlainChars.Length == 0 ? 0 : PlainChars.Max();
        All = new Trie(bytes, _ => true);
        NonPlain = new Trie(bytes, i => PlainChars[i] < 0);
    }

    /// <summary>The index for <paramref name="tok"/>; <paramref name="renderSpecial"/> must match the decoder's.</summary>
    public static TokenIndex For(Tokenizer tok, bool renderSpecial = false) =>
        renderSpecial ? RenderedCache.GetValue(tok, t => new TokenIndex(t, true)) : Cache.GetValue(tok, t => new TokenIndex(t, false));

    private static int CountPlain(byte[] s)
    {
        if (s.Length == 0) return -1;
        int chars = 0;
        for (int i = 0; i < s.Length;)
        {
            byte b = s[i];
            if (b < 0x80)
            {
                if (b < 0x20 || b == (byte)'"' || b == (byte)'\\' || b == 0x7F) return -1;
                i++;
            }
            else
            {
                var status = System.Text.Rune.DecodeFromUtf8(s.AsSpan(i), out _, out int used);
                // A whole character, or a valid beginning of one at the end of the token (counted as one).
                if (status == System.Buffers.OperationStatus.NeedMoreData && i + used == s.Length) { chars++; break; }
                if (status != System.Buffers.OperationStatus.Done) return -1;
                i += used;
            }
            chars++;
        }
        return chars;
    }

    /// <summary>A byte trie in preorder: node i's children are i+1, End[i+1], End[End[i+1]]… up to End[i].</summary>
    internal sealed class Trie
    {
        public byte[] Label { get; }
        public int[] End { get; }
        public int[] TokenStart { get; }
        public int[] Tokens { get; }

        public Trie(byte[][] bytes, Func<int, bool> include)
        {
            var ids = Enumerable.Range(0, bytes.Length).Where(i => bytes[i].Length > 0 && include(i)).ToArray();
            Array.Sort(ids, (a, b) => bytes[a].AsSpan().SequenceCompareTo(bytes[b]));
            var label = new List<byte> { 0 };   // node 0 is the root
            var end = new List<int> { 0 };
            var tokens = new List<int>();
            var tokenNode = new List<int>();
            var path = new List<int> { 0 };     // node index per depth along the current path
            var pathBytes = new List<byte>();
            foreach (int id in ids)
            {
                var s = bytes[id];
                int common = 0;
                while (common < pathBytes.Count && common < s.Length && pathBytes[common] == s[common]) common++;
                for (int d = pathBytes.Count; d > common; d--) end[path[d]] = label.Count;
                path.RemoveRange(common + 1, path.Count - common - 1);
                pathBytes.RemoveRange(common, pathBytes.Count - common);
                for (int d = common; d < s.Length; d++)
                {
                    path.Add(label.Count);
                    pathBytes.Add(s[d]);
                    label.Add(s[d]);
                    end.Add(0);
                }
                tokens.Add(id);
                tokenNode.Add(path[^1]);
            }
            for (int d = pathBytes.Count; d >= 0; d--) end[path[d]] = label.Count;
            Label = label.ToArray();
            End = end.ToArray();
            Tokens = tokens.ToArray();
            // Tokens are in preorder of their end nodes: TokenStart[i]..TokenStart[i+1] are those ending at node i.
            TokenStart = new int[Label.Length + 1];
            int k = 0;
            for (int i = 0; i <= Label.Length; i++)
            {
                while (k < tokenNode.Count && tokenNode[k] < i) k++;
                TokenStart[i] = k;
            }
        }
    }
}
