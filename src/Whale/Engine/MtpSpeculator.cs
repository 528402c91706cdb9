using Whale.Models;
using Whale.Sampling;

namespace Whale.Engine;

/// <summary>
/// Multi-token-prediction speculative decoding over one <see cref="Generator"/>'s cache. After token t_N is chosen,
/// the MTP block drafts t_{N+1} from the main model's hidden state h_{N-1} and t_N, and the main model runs
/// [t_N, draft] in one forward (<see cref="IMtpModel.ForwardHidden"/> in row order, so each row is bit for bit a
/// one-token step): the first row's logits are the next logits as plain decoding computes them; if the token then
/// chosen from them equals the draft, the second row's logits (already computed) serve the token after it, else the
/// draft's cache row is dropped (the cache length goes back by one). Tokens are chosen from the main model's logits
/// only, so the output is exactly that of plain decoding, for greedy and sampled decoding alike (a sampled token
/// equals the greedy draft with the probability the main model gives it: standard speculative sampling with a
/// deterministic draft).
/// The MTP cache only ever receives rows of committed tokens (it runs after verification, one or two rows per step),
/// so a rejection never has to roll it back; when the generator's tokens are cut (a new prompt diverging, Reset) it is
/// truncated with them. Hidden states of positions the MTP block has not consumed yet are kept (at most two between
/// steps); any that are missing after a prompt change are recomputed on a copy of the cache rows.
/// </summary>
internal sealed class MtpSpeculator
{
    private readonly IMtpModel _model;
    private readonly KvCache _cache, _mtpCache;
    private readonly int _embed, _vocab, _batch;
    private readonly float[] _hidden;                // rows of positions [_hidBase, _hidBase + _hidCount)
    private int _hidBase, _hidCount;
    private readonly float[] _verifyLogits, _verifyHidden, _mtpLogits;
    private readonly int[] _pair = new int[2];
    private readonly int[] _one = new int[1];
    private readonly int[] _mtpTokens;
    private float[] _scratchLogits = [];
    private Half[] _savedRows = [];
    private int _draft = -1;                          // pending draft, in the cache at _draftPos (not committed)
    private int _draftPos;
    private long _drafted, _accepted;

    public MtpSpeculator(IMtpModel model, KvCache cache, int batch)
    {
        _model = model;
        _cache = cache;
        _mtpCache = model.CreateMtpCache(cache.ContextSize);
        _embed = model.Config.EmbedDim;
        _vocab = model.Config.VocabSize;
        _batch = Math.Max(1, batch);
        _hidden = new float[(_batch + 2) * _embed];
        _verifyLogits = new float[2 * _vocab];
        _verifyHidden = new float[2 * _embed];
        _mtpLogits = new float[_vocab];
        _mtpTokens = new int[_batch];
    }

    public SpeculationStats Stats => new() { Drafted = _drafted, Accepted = _accepted };

    /// <summary>Rows in the MTP cache (for tests).</summary>
    internal int MtpLength => _mtpCache.Length;

    /// <summary>The MTP block's cache (for tests).</summary>
    internal KvCache MtpCache => _mtpCache;

    /// <summary>The draft waiting for the next token (in the cache, not committed), or -1 (for tests).</summary>
    internal int PendingDraft => _draft;

    /// <summary>The logits of the MTP block's last row (the latest draft's distribution; for tests).</summary>
    internal ReadOnlySpan<float> DraftLogits => _mtpLogits;

    /// <summary>The generator's tokens were cut to the first <paramref name="committed"/>: drop what depended on the rest.</summary>
    public void Truncate(int committed)
    {
        _draft = -1;
        _mtpCache.Length = Math.Min(_mtpCache.Length, Math.Max(committed - 1, 0));
        _hidCount = Math.Clamp(committed - _hidBase, 0, _hidCount);
    }

    /// <summary>
    /// Prompt processing: the cache holds the first <paramref name="common"/> tokens of <paramref name="tokens"/>;
    /// runs the rest exactly as <see cref="IModel.Forward"/> would (same micro-batches), leaving the last token's
    /// logits in <paramref name="logits"/>, and brings the MTP cache up to the last prompt position but one.
    /// </summary>
    public void Prefill(IReadOnlyList<int> tokens, int common, float[] logits)
    {
        if (common < 0 || common >= tokens.Count || common > _cache.Length)
            throw new ArgumentOutOfRangeException(nameof(common), $"{common} reused tokens of {tokens.Count}, {_cache.Length} cached");
        _cache.Length = common;
        Truncate(common);
        int need = _mtpCache.Length;
        if (_hidCount == 0 || _hidBase > need) { _hidBase = need; _hidCount = 0; }
        Drop(need);
        // hidden states of reused positions the MTP block still needs: recomputed, the cache rows kept as they are
        for (int have = _hidBase + _hidCount; have < common;)
        {
            int n = Math.Min(common - have, _batch);
            if ((_hidCount + n) * _embed > _hidden.Length) CatchUp(tokens, have);
            Recompute(tokens, have, n);
            have += n;
            CatchUp(tokens, have);
        }
        // the rest in the micro-batches IModel.Forward uses (so the cache rows are the same), hidden states kept
        for (int pos = common; pos < tokens.Count;)
        {
            int n = Math.Min(tokens.Count - pos, _batch);
            if ((_hidCount + n) * _embed > _hidden.Length) CatchUp(tokens, pos - 1);
            var chunk = Slice(tokens, pos, n);
            _model.ForwardHidden(chunk, _cache, logits, Rows(pos, n), rowOrder: false);
            _hidCount += n;
            pos += n;
            CatchUp(tokens, pos - 1);
        }
    }

    /// <summary>
    /// Token <paramref name="tokens"/>[N] (the last) was chosen: leaves the logits of position N in
    /// <paramref name="logits"/>, from the pending verification when its draft was that token, else by a forward of
    /// [t_N, new draft] (<paramref name="speculate"/>, room in the context) or of t_N alone.
    /// </summary>
    public void Step(IReadOnlyList<int> tokens, float[] logits, bool speculate)
    {
        int n = tokens.Count - 1, id = tokens[n];
        if (_draft >= 0)
        {
            bool hit = _draftPos == n && _draft == id;
            _draft = -1;
            if (hit)
            {
                _accepted++;
                _verifyLogits.AsSpan(_vocab, _vocab).CopyTo(logits);
                Room(tokens, n, 1);
                _verifyHidden.AsSpan(_embed, _embed).CopyTo(Rows(n, 1));
                _hidCount++;
                return;
            }
            _cache.Length = n;                        // the draft's row goes
        }
        if (_cache.Length != n) throw new InvalidOperationException($"the cache holds {_cache.Length} tokens, the generator {n}");
        if (speculate && n + 2 <= _cache.ContextSize)
        {
            CatchUp(tokens, n);                       // the MTP row of position n - 1 (with t_n) drafts t_{n+1}
            int draft = Sampler.Argmax(_mtpLogits);
            _pair[0] = id;
            _pair[1] = draft;
            _model.ForwardHidden(_pair, _cache, _verifyLogits, _verifyHidden, rowOrder: true);
            _verifyLogits.AsSpan(0, _vocab).CopyTo(logits);
            Room(tokens, n, 1);
            _verifyHidden.AsSpan(0, _embed).CopyTo(Rows(n, 1));
            _hidCount++;
            _draft = draft;
            _draftPos = n + 1;
            _drafted++;
            return;
        }
        Room(tokens, n, 1);
        _one[0] = id;
        _model.ForwardHidden(_one, _cache, logits, Rows(n, 1), rowOrder: true);
        _hidCount++;
    }

    /// <summary>
    /// Runs the MTP rows of positions [MTP length, <paramref name="upTo"/>) (row j: h_j and token j+1), leaving the last
    /// row's logits in _mtpLogits, and drops the hidden rows below <paramref name="upTo"/>.
    /// </summary>
    private void CatchUp(IReadOnlyList<int> tokens, int upTo)
    {
        for (int s = _mtpCache.Length; s < upTo;)
        {
            int n = Math.Min(upTo - s, _batch);
            for (int i = 0; i < n; i++) _mtpTokens[i] = tokens[s + i + 1];
            _model.ForwardMtp(Rows(s, n), _mtpTokens.AsSpan(0, n), _mtpCache, _mtpLogits);
            s += n;
        }
        Drop(upTo);
    }

    /// <summary>Drops the hidden rows of positions below <paramref name="pos"/>.</summary>
    private void Drop(int pos)
    {
        int k = Math.Clamp(pos - _hidBase, 0, _hidCount);
        if (k == 0) return;
        _hidden.AsSpan(k * _embed, (_hidCount - k) * _embed).CopyTo(_hidden);
        _hidBase += k;
        _hidCount -= k;
    }

    /// <summary>Makes room for <paramref name="n"/> more hidden rows after position <paramref name="pos"/> - 1 (the MTP block consumes the held ones if needed).</summary>
    private void Room(IReadOnlyList<int> tokens, int pos, int n)
    {
        if (_hidCount == 0) _hidBase = pos;
        if ((_hidCount + n) * _embed > _hidden.Length) CatchUp(tokens, pos);
        if (_hidCount == 0) _hidBase = pos;
    }

    /// <summary>The hidden rows of positions [pos, pos + n) in the buffer.</summary>
    private Span<float> Rows(int pos, int n) => _hidden.AsSpan((pos - _hidBase) * _embed, n * _embed);

    /// <summary>Hidden states of cached positions [start, start + n), computed again; the cache rows are restored afterwards.</summary>
    private void Recompute(IReadOnlyList<int> tokens, int start, int n)
    {
        int layers = _cache.Layers, dim = _cache.KvDim, length = _cache.Length;
        if (_savedRows.Length < layers * n * dim) _savedRows = new Half[layers * n * dim];
        if (_scratchLogits.Length < _vocab) _scratchLogits = new float[_vocab];
        for (int l = 0; l < layers; l++) _cache.K(l, start, n).CopyTo(_savedRows.AsSpan(l * n * dim, n * dim));
        try
        {
            _cache.Length = start;
            _model.ForwardHidden(Slice(tokens, start, n), _cache, _scratchLogits, Rows(start, n), rowOrder: false);
            _hidCount += n;
        }
        finally
        {
            for (int l = 0; l < layers; l++) _savedRows.AsSpan(l * n * dim, n * dim).CopyTo(_cache.K(l, start, n));
            _cache.Length = length;
        }
    }

    private static int[] Slice(IReadOnlyList<int> tokens, int start, int n)
    {
        var a = new int[n];
        for (int i = 0; i < n; i++) a[i] = tokens[start + i];
        return a;
    }
}
