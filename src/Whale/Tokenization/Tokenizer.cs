using System.Text;
using Whale.Gguf;

namespace Whale.Tokenization;

/// <summary>
/// Text to token ids and back, exactly as llama.cpp does it for byte-level BPE (<c>gpt2</c>: DeepSeek, Qwen2, Llama 3,
/// GPT-2) and SentencePiece (<c>llama</c>) vocabularies. Thread-safe once constructed.
/// </summary>
public sealed class Tokenizer
{
    private static readonly string[] EogTexts =
    [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
        "<|end_of_text|>", "<end_of_utterance>", "<|return|>", "<|call|>", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>", "<|EOT|>",
        // FIM pad / repo / separator tokens end generation too
        "<|fim_pad|>", "<fim-pad>", "<|repo_name|>", "<|fim_repo|>", "<fim-repo>", "<|file_sep|>", "<fim-sep>",
    ];

    private static readonly string[] EotTexts =
    [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "_<EOT>", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>",
    ];

    private readonly Dictionary<string, int> _tokenToId;
    private readonly TokenType[] _types;
    private readonly (string Text, int Id, bool Control)[] _specials;
    private readonly HashSet<int> _eog = [];
    private readonly PreTokenizer? _pre;
    private readonly BpeModel? _bpe;
    private readonly SpmModel? _spm;
    private readonly bool _isSpm;
    private readonly byte[]?[] _pieces;
    private readonly byte[]?[] _specialPieces;

    /// <summary>Builds a tokenizer for a vocabulary.</summary>
    /// <exception cref="NotSupportedException">Unknown model or pre-tokenizer type.</exception>
    public Tokenizer(VocabData vocab)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        Vocab = vocab;
        int n = vocab.Tokens.Length;
        if (vocab.TokenTypes.Length != n)
            throw new ArgumentException($"{vocab.TokenTypes.Length} token types for {n} tokens", nameof(vocab));
        _tokenToId = new Dictionary<string, int>(n, StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
            _tokenToId[vocab.Tokens[i]] = i;
        _types = (TokenType[])vocab.TokenTypes.Clone();

        switch (vocab.Model)
        {
            case "gpt2":
                _pre = PreTokenizer.Create(vocab.Pre);
                _bpe = new BpeModel(vocab.Tokens, _tokenToId, vocab.Merges ?? [], _pre.IgnoreMerges);
                break;
            case "llama":
                _isSpm = true;
                _spm = new SpmModel(_tokenToId, vocab.Scores, vocab.UnkId ?? -1);
                break;
            default:
                throw new NotSupportedException($"unknown tokenizer model '{vocab.Model}' (tokenizer.ggml.model); supported: gpt2, llama");
        }

        // end-of-turn: from the file, else the first known spelling present (llama.cpp's auto-detection)
        EotId = vocab.EotId;
        if (EotId is null)
        {
            foreach (var t in EotTexts)
            {
                if (_tokenToId.TryGetValue(t, out int id))
                {
                    EotId = id;
                    break;
                }
            }
        }
        if (EotId is int eot)
            ForceControl(eot);
        foreach (var t in EogTexts)
        {
            if (_tokenToId.TryGetValue(t, out int id))
            {
                _eog.Add(id);
                ForceControl(id);
            }
        }
        if (vocab.EosId >= 0 && vocab.EosId < n)
            _eog.Add(vocab.EosId);
        if (EotId is int e)
            _eog.Add(e);
        if (vocab.EomId is int eom)
            _eog.Add(eom);

        // special-token candidates: control, user-defined and unknown tokens, longest (UTF-8 bytes) first
        var specials = new List<(string, int, bool, int)>();
        for (int i = 0; i < n; i++)
        {
            var t = _types[i];
            if (t is TokenType.Control or TokenType.UserDefined or TokenType.Unknown && vocab.Tokens[i].Length > 0)
                specials.Add((vocab.Tokens[i], i, t != TokenType.UserDefined, Encoding.UTF8.GetByteCount(vocab.Tokens[i])));
        }
        specials.Sort((a, b) => a.Item4 != b.Item4 ? b.Item4.CompareTo(a.Item4) : a.Item2.CompareTo(b.Item2));
        _specials = specials.Select(s => (s.Item1, s.Item2, s.Item3)).ToArray();

        _pieces = new byte[n][];
        _specialPieces = new byte[n][];
    }

    private void ForceControl(int id)
    {
        if (id >= 0 && id < _types.Length && _types[id] != TokenType.Control)
            _types[id] = TokenType.Control;
    }

    /// <summary>Reads the vocabulary of a GGUF file and builds its tokenizer.</summary>
    public static Tokenizer FromGguf(GgufFile file) => new(VocabData.FromGguf(file));

    /// <summary>The vocabulary.</summary>
    public VocabData Vocab { get; }

    /// <summary>Number of tokens.</summary>
    public int VocabSize => Vocab.Tokens.Length;

    /// <summary>Beginning-of-sequence id.</summary>
    public int BosId => Vocab.BosId;

    /// <summary>End-of-sequence id.</summary>
    public int EosId => Vocab.EosId;

    /// <summary>End-of-turn id (from the file or detected by its text), or null.</summary>
    public int? EotId { get; }

    /// <summary>Whether <see cref="Encode"/> with special tokens prepends BOS.</summary>
    public bool AddBos => Vocab.AddBos;

    /// <summary>Whether <see cref="Encode"/> with special tokens appends EOS.</summary>
    public bool AddEos => Vocab.AddEos;

    /// <summary>The type llama.cpp gives a token (end-of-generation tokens count as Control).</summary>
    public TokenType GetTokenType(int id) => (uint)id < (uint)_types.Length ? _types[id] : TokenType.Undefined;

    /// <summary>The raw vocabulary text of a token.</summary>
    public string GetTokenText(int id) => Vocab.Tokens[id];

    /// <summary>Whether generation stops at this token (EOS, EOT, EOM and the known end-of-turn spellings).</summary>
    public bool IsEog(int id) => _eog.Contains(id);

    /// <summary>All end-of-generation ids.</summary>
    public IReadOnlyCollection<int> EogIds => _eog;

    /// <summary>The id of the token with exactly this vocabulary text, or null.</summary>
    public int? FindToken(string text) => _tokenToId.TryGetValue(text, out int id) ? id : null;

    /// <summary>
    /// Tokenizes text as llama.cpp's <c>llama_tokenize</c>: special tokens are cut out first (longest first; Control and
    /// Unknown ones only when <paramref name="parseSpecial"/>, UserDefined always), the rest is pre-tokenized and encoded;
    /// BOS (and EOS) are added when <paramref name="addSpecial"/> and the vocabulary asks for them.
    /// </summary>
    public int[] Encode(string text, bool addSpecial = true, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var output = new List<int>(text.Length / 3 + 4);
        if (addSpecial && AddBos)
            output.Add(BosId);
        var fragments = Partition(text, parseSpecial);
        if (_isSpm)
        {
            bool prevSpecial = true;
            foreach (var f in fragments)
            {
                if (f.Token >= 0)
                {
                    output.Add(f.Token);
                    prevSpecial = true;
                    continue;
                }
                string raw = text.Substring(f.Start, f.Length);
                if (Vocab.AddSpacePrefix && prevSpecial)
                    raw = " " + raw;
                _spm!.Encode(raw.Replace(' ', '\u2581'), output);
                prevSpecial = false;
            }
        }
        else
        {
            foreach (var f in fragments)
            {
                if (f.Token >= 0)
                    output.Add(f.Token);
                else
                    EncodeBpe(text.AsSpan(f.Start, f.Length), output);
            }
        }
        if (addSpecial && AddEos)
            output.Add(EosId);
        return output.ToArray();
    }

    private void EncodeBpe(ReadOnlySpan<char> text, List<int> output)
    {
        int[] cps = UnicodeInfo.ToCodePoints(text);
        var lengths = _pre!.Split(cps);
        Span<byte> buf = stackalloc byte[4];
        var bytes = new List<byte>(64);
        int pos = 0;
        foreach (int len in lengths)
        {
            bytes.Clear();
            for (int i = pos; i < pos + len; i++)
            {
                int w = new Rune(cps[i]).EncodeToUtf8(buf);
                for (int k = 0; k < w; k++)
                    bytes.Add(buf[k]);
            }
            pos += len;
            string word = string.Create(bytes.Count, bytes, static (dst, src) =>
            {
                for (int k = 0; k < src.Count; k++)
                    dst[k] = ByteLevel.ByteToChar[src[k]];
            });
            _bpe!.EncodeWord(word, output);
        }
    }

    private readonly record struct Fragment(int Token, int Start, int Length);

    private List<Fragment> Partition(string text, bool parseSpecial)
    {
        var frags = new List<Fragment>();
        if (text.Length == 0)
            return frags;
        frags.Add(new Fragment(-1, 0, text.Length));
        foreach (var (tokText, id, control) in _specials)
        {
            if (control && !parseSpecial)
                continue;
            if (text.Length < tokText.Length || !text.Contains(tokText, StringComparison.Ordinal))
                continue;
            var next = new List<Fragment>(frags.Count + 2);
            foreach (var f in frags)
            {
                if (f.Token >= 0)
                {
                    next.Add(f);
                    continue;
                }
                int start = f.Start, end = f.Start + f.Length;
                while (start < end)
                {
                    int m = text.IndexOf(tokText, start, end - start, StringComparison.Ordinal);
                    if (m < 0)
                        break;
                    if (m > start)
                        next.Add(new Fragment(-1, start, m - start));
                    next.Add(new Fragment(id, m, tokText.Length));
                    start = m + tokText.Length;
                }
                if (start < end)
                    next.Add(new Fragment(-1, start, end - start));
            }
            frags = next;
        }
        return frags;
    }

    /// <summary>
    /// The bytes of one token as llama.cpp's <c>token_to_piece</c> gives them: Normal tokens decoded (GPT-2 byte table,
    /// or ▁ as space for SentencePiece), byte tokens as their byte, UserDefined as raw text, Control/Unknown as raw text
    /// only when <paramref name="renderSpecial"/>, anything else empty. A piece may end inside a UTF-8 character.
    /// </summary>
    public byte[] TokenToBytes(int id, bool renderSpecial = false)
    {
        if ((uint)id >= (uint)_types.Length)
            return [];
        var cache = renderSpecial ? _specialPieces : _pieces;
        var piece = Volatile.Read(ref cache[id]);
        if (piece is null)
        {
            piece = ComputePiece(id, renderSpecial);
            Volatile.Write(ref cache[id], piece);
        }
        return piece;
    }

    private byte[] ComputePiece(int id, bool renderSpecial)
    {
        var type = _types[id];
        string text = Vocab.Tokens[id];
        switch (type)
        {
            case TokenType.Control or TokenType.Unknown:
                return renderSpecial ? Encoding.UTF8.GetBytes(text) : [];
            case TokenType.UserDefined:
                return Encoding.UTF8.GetBytes(text);
            case TokenType.Normal:
                return _isSpm ? Encoding.UTF8.GetBytes(text.Replace('\u2581', ' ')) : ByteLevel.Decode(text);
            case TokenType.Byte when _isSpm:
                if (text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal)
                    && byte.TryParse(text.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
                    return [b];
                return [];
            default:
                return [];
        }
    }

    /// <summary>Decodes ids to text: the concatenated token bytes read as UTF-8 (invalid sequences become U+FFFD).</summary>
    public string Decode(IEnumerable<int> ids, bool renderSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        foreach (int id in ids)
            bytes.AddRange(TokenToBytes(id, renderSpecial));
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    /// <summary>A decoder for generated tokens that only ever returns whole characters.</summary>
    public StreamingDecoder CreateStreamingDecoder(bool renderSpecial = false) => new(this, renderSpecial);
}
