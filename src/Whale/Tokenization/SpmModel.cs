namespace Whale.Tokenization;

/// <summary>
/// llama.cpp's SentencePiece (<c>llama</c>) tokenizer: start from code points, repeatedly merge the adjacent pair whose
/// concatenation is the vocabulary entry of highest score (leftmost on ties), then byte-fallback what is left unknown.
/// </summary>
internal sealed class SpmModel
{
    private readonly Dictionary<string, int> _tokenToId;
    private readonly float[]? _scores;
    private readonly int _unkId;
    private readonly int[] _byteTokens = new int[256];

    public SpmModel(Dictionary<string, int> tokenToId, float[]? scores, int unkId)
    {
        _tokenToId = tokenToId;
        _scores = scores;
        _unkId = unkId;
        for (int b = 0; b < 256; b++)
        {
            if (tokenToId.TryGetValue($"<0x{b:X2}>", out int id))
                _byteTokens[b] = id;
            else if (b < 0x80 && tokenToId.TryGetValue(((char)b).ToString(), out id))
                _byteTokens[b] = id;
            else
                _byteTokens[b] = unkId;
        }
    }

    private sealed class PairComparer : IComparer<(float Score, int Left)>
    {
        public static readonly PairComparer Instance = new();

        public int Compare((float Score, int Left) a, (float Score, int Left) b)
        {
            int c = b.Score.CompareTo(a.Score);   // higher score first
            return c != 0 ? c : a.Left.CompareTo(b.Left);
        }
    }

    /// <summary>Encodes text whose spaces are already ▁, appending token ids.</summary>
    public void Encode(string text, List<int> output)
    {
        if (text.Length == 0)
            return;
        // symbols: code points as (start, length) in UTF-16 units
        var start = new List<int>();
        for (int i = 0; i < text.Length; i++)
        {
            start.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                i++;
        }
        int n = start.Count;
        var st = start.ToArray();
        var len = new int[n];
        for (int i = 0; i < n; i++)
            len[i] = (i + 1 < n ? st[i + 1] : text.Length) - st[i];
        var prev = new int[n];
        var next = new int[n];
        for (int i = 0; i < n; i++)
        {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }

        var queue = new PriorityQueue<(int L, int R, int Size), (float, int)>(PairComparer.Instance);
        void TryAdd(int l, int r)
        {
            if (l < 0 || r < 0)
                return;
            int size = len[l] + len[r];
            if (!_tokenToId.TryGetValue(text.Substring(st[l], size), out int id))
                return;
            float score = _scores is not null && id < _scores.Length ? _scores[id] : 0f;
            queue.Enqueue((l, r, size), (score, l));
        }

        for (int i = 1; i < n; i++)
            TryAdd(i - 1, i);

        while (queue.TryDequeue(out var b, out _))
        {
            if (len[b.L] == 0 || len[b.R] == 0 || len[b.L] + len[b.R] != b.Size)
                continue;
            len[b.L] += len[b.R];
            len[b.R] = 0;
            int nr = next[b.R];
            next[b.L] = nr;
            if (nr >= 0)
                prev[nr] = b.L;
            TryAdd(prev[b.L], b.L);
            TryAdd(b.L, nr);
        }

        for (int i = 0; i != -1; i = next[i])
        {
            string piece = text.Substring(st[i], len[i]);
            if (_tokenToId.TryGetValue(piece, out int id))
            {
                output.Add(id);
                continue;
            }
            foreach (byte b in System.Text.Encoding.UTF8.GetBytes(piece))
            {
                int t = _byteTokens[b];
                if (t >= 0)
                    output.Add(t);
            }
        }
    }
}
