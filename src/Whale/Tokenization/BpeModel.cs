using System.Collections.Concurrent;

namespace Whale.Tokenization;

/// <summary>
/// Byte-level BPE as llama.cpp runs it: the word (already in the GPT-2 byte alphabet) starts as single characters,
/// adjacent pairs are merged lowest (rank, left position) first, and each final symbol is looked up in the vocabulary.
/// Symbols are interned as ids so that a merge is a dictionary lookup on a pair of ints.
/// </summary>
internal sealed class BpeModel
{
    private const int CacheLimit = 200_000;

    private readonly Dictionary<string, int> _tokenToId;
    private readonly int _vocabSize;
    private readonly bool _ignoreMerges;
    private readonly Dictionary<long, (int Rank, int Result)> _merges;
    private readonly List<string> _extraSymbols = [];
    private readonly Dictionary<string, int> _extraIds = new(StringComparer.Ordinal);
    private readonly int[] _charSymbol;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    public BpeModel(string[] tokens, Dictionary<string, int> tokenToId, string[] merges, bool ignoreMerges)
    {
        _tokenToId = tokenToId;
        _vocabSize = tokens.Length;
        _ignoreMerges = ignoreMerges;
        _merges = new Dictionary<long, (int, int)>(merges.Length);
        for (int rank = 0; rank < merges.Length; rank++)
        {
            string m = merges[rank];
            int sp = m.Length > 1 ? m.IndexOf(' ', 1) : -1;
            string left, right;
            if (sp < 0)
            {
                left = "";
                right = "";
            }
            else
            {
                left = m[..sp];
                right = m[(sp + 1)..];
            }
            int l = Intern(left), r = Intern(right);
            long key = Key(l, r);
            if (!_merges.ContainsKey(key))
                _merges[key] = (rank, Intern(left + right));
        }
        _charSymbol = new int[ByteLevel.CharToByte.Length];
        for (int ch = 0; ch < _charSymbol.Length; ch++)
            _charSymbol[ch] = Lookup(((char)ch).ToString());
    }

    private static long Key(int l, int r) => ((long)l << 32) | (uint)r;

    private int Lookup(string s)
    {
        if (_tokenToId.TryGetValue(s, out int id))
            return id;
        return _extraIds.TryGetValue(s, out id) ? id : -1;
    }

    private int Intern(string s)
    {
        int id = Lookup(s);
        if (id >= 0)
            return id;
        id = _vocabSize + _extraSymbols.Count;
        _extraSymbols.Add(s);
        _extraIds[s] = id;
        return id;
    }

    private string SymbolText(int sym) => sym < _vocabSize ? "" : _extraSymbols[sym - _vocabSize];

    /// <summary>Encodes one byte-level word, appending token ids.</summary>
    public void EncodeWord(string word, List<int> output)
    {
        if (word.Length == 0)
            return;
        if (_cache.TryGetValue(word, out var cached))
        {
            output.AddRange(cached);
            return;
        }
        var result = EncodeUncached(word);
        if (_cache.Count >= CacheLimit)
            _cache.Clear();
        _cache[word] = result;
        output.AddRange(result);
    }

    private int[] EncodeUncached(string word)
    {
        if (_ignoreMerges && _tokenToId.TryGetValue(word, out int whole))
            return [whole];

        int n = word.Length;
        var sym = new int[n];
        var next = new int[n];
        var prev = new int[n];
        var dead = new bool[n];
        for (int i = 0; i < n; i++)
        {
            char ch = word[i];
            sym[i] = ch < _charSymbol.Length ? _charSymbol[ch] : Lookup(ch.ToString());
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }

        var queue = new PriorityQueue<(int L, int R, int LS, int RS, int Result), long>();
        void Add(int l, int r)
        {
            if (l < 0 || r < 0)
                return;
            int ls = sym[l], rs = sym[r];
            if (ls < 0 || rs < 0)
                return;
            if (_merges.TryGetValue(Key(ls, rs), out var m))
                queue.Enqueue((l, r, ls, rs, m.Result), ((long)m.Rank << 32) | (uint)l);
        }

        for (int i = 1; i < n; i++)
            Add(i - 1, i);

        while (queue.TryDequeue(out var b, out _))
        {
            if (dead[b.L] || dead[b.R] || sym[b.L] != b.LS || sym[b.R] != b.RS)
                continue;
            sym[b.L] = b.Result;
            dead[b.R] = true;
            int nr = next[b.R];
            next[b.L] = nr;
            if (nr >= 0)
                prev[nr] = b.L;
            Add(prev[b.L], b.L);
            Add(b.L, nr);
        }

        var output = new List<int>(n);
        for (int i = 0; i != -1; i = next[i])
        {
            int s = sym[i];
            if (s >= 0 && s < _vocabSize)
            {
                output.Add(s);
                continue;
            }
            // not a vocabulary entry: llama.cpp emits the tokens of its single bytes that exist (ASCII only)
            string text = s < 0 ? word[i].ToString() : SymbolText(s);
            foreach (char ch in text)
            {
                if (ch < 0x80 && _tokenToId.TryGetValue(ch.ToString(), out int id))
                    output.Add(id);
            }
        }
        return output.ToArray();
    }
}
