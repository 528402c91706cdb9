using Whale.Kernels;

namespace Whale.Models.DeepSeek2;

/// <summary>
/// Multi-token prediction (DeepSeek-V3 §2.2, llama.cpp's <c>graph_mtp</c>): u = eh_proj · [enorm(emb(t_{i+1})) ;
/// hnorm(h_i)] (embedding half first), one decoder block at the rope position of t_{i+1} over the MTP block's own
/// cache, then shared_head_norm and the shared output head: logits for t_{i+2}. h_i is the main model's
/// final-normed hidden state, which <see cref="ForwardHidden"/> exposes.
/// </summary>
public sealed unsafe partial class DeepSeek2Model
{
    private readonly DeepSeek2MtpWeights? _mtp;
    private float* _hidden;                  // ForwardHidden's destination: row r = position _hiddenBase + r
    private int _hiddenBase;
    private bool _rowOrder;                  // every row in the one-row order (vec_dot products, single-query attention)
    private float[] _mtpIn = [];             // [n, 2E]: enorm(emb) | hnorm(h)
    private float[] _xSave = [];             // the residual rows CaptureHidden restores

    /// <inheritdoc/>
    public bool HasMtp => _mtp is not null;

    /// <inheritdoc/>
    public KvCache CreateMtpCache(int contextSize) => _mtp is null
        ? throw new InvalidOperationException("the model has no MTP block")
        : KvCache.CreateSingleStream(1, contextSize, DeepSeekConfig.CacheRowDim);

    /// <inheritdoc/>
    public void ForwardHidden(ReadOnlySpan<int> tokens, KvCache cache, Span<float> logits, Span<float> hidden, bool rowOrder)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (cache.KvDim != DeepSeekConfig.CacheRowDim || cache.Layers != DeepSeekConfig.NumLayers || cache.HasValues)
            throw new ArgumentException("the cache was not created by this model", nameof(cache));
        if (hidden.Length < (long)tokens.Length * DeepSeekConfig.EmbedDim) throw new ArgumentException("hidden buffer too small", nameof(hidden));
        lock (_gate)
        {
            fixed (float* h = hidden)
            {
                _hidden = h;
                _hiddenBase = cache.Length;
                _rowOrder = rowOrder;
                try { ForwardChunks.Run(tokens, cache, logits, rowOrder, Config.VocabSize, _maxBatch, _gate, _forwardBatch); }
                finally
                {
                    _hidden = null;
                    _rowOrder = false;
                }
            }
        }
    }

    /// <inheritdoc/>
    public void ForwardMtp(ReadOnlySpan<float> hidden, ReadOnlySpan<int> nextTokens, KvCache mtpCache, Span<float> logits)
    {
        var m = _mtp ?? throw new InvalidOperationException("the model has no MTP block");
        ArgumentNullException.ThrowIfNull(mtpCache);
        var c = DeepSeekConfig;
        int n = nextTokens.Length, E = c.EmbedDim, V = c.VocabSize, pos0 = mtpCache.Length;
        if (mtpCache.KvDim != c.CacheRowDim || mtpCache.Layers != 1 || mtpCache.HasValues)
            throw new ArgumentException("the cache was not created by CreateMtpCache", nameof(mtpCache));
        if (n == 0) throw new ArgumentException("no rows to evaluate", nameof(nextTokens));
        if (n > _maxBatch) throw new ArgumentException($"{n} rows exceed the batch limit {_maxBatch}", nameof(nextTokens));
        if (pos0 + n > mtpCache.ContextSize)
            throw new InvalidOperationException($"MTP context is full: {pos0} + {n} rows exceed the context size {mtpCache.ContextSize}");
        if (hidden.Length < n * E) throw new ArgumentException("hidden holds fewer than n x embedding rows", nameof(hidden));
        if (logits.Length < V) throw new ArgumentException("logits buffer too small", nameof(logits));
        foreach (int t in nextTokens)
            if ((uint)t >= (uint)V) throw new ArgumentOutOfRangeException(nameof(nextTokens), $"token id {t} is outside the vocabulary (0..{V - 1})");
        lock (_gate)
        {
            _rowOrder = true;
            try { ForwardMtpCore(m, hidden, nextTokens, mtpCache, logits); }
            finally { _rowOrder = false; }
        }
    }

    /// <summary>
    /// <see cref="ForwardMtp"/> under the lock, every row in the one-row order: a row's result does not depend on how
    /// many rows came in the same call, so the drafts depend only on the tokens and hidden states.
    /// </summary>
    private void ForwardMtpCore(DeepSeek2MtpWeights m, ReadOnlySpan<float> hidden, ReadOnlySpan<int> nextTokens, KvCache mtpCache, Span<float> logits)
    {
        var c = DeepSeekConfig;
        int n = nextTokens.Length, E = c.EmbedDim, pos0 = mtpCache.Length, half = c.QkRopeDim / 2;
        if (_mtpIn.Length < _maxBatch * 2 * E) _mtpIn = new float[_maxBatch * 2 * E];
        for (int t = 0; t < n; t++)
        {
            var emb = _mtpIn.AsSpan(t * 2 * E, E);
            m.Embed.DequantizeRow(nextTokens[t], emb);
            RmsNorm.Apply(emb, m.ENorm, c.RmsEps, emb);
            RmsNorm.Apply(hidden.Slice(t * E, E), m.HNorm, c.RmsEps, _mtpIn.AsSpan(t * 2 * E + E, E));
            _rope.Angles(pos0 + t + 1, _cos.AsSpan(t * half, half), _sin.AsSpan(t * half, half));
        }
        MatMul(m.EhProj, _mtpIn, n, _x);                           // x: [n, E]
        Attend(m.Block, mtpCache, 0, n, pos0);
        _x.AsSpan((n - 1) * E, E).CopyTo(_x);                      // only the last row's prediction is wanted
        Ffn(m.Block, 1);
        mtpCache.Length = pos0 + n;
        RmsNorm.Apply(_x.AsSpan(0, E), m.HeadNorm, c.RmsEps, _last);
        fixed (float* y = logits) MatMul(m.Head, _last, 1, y);
    }

    /// <summary>Products and attention in the batched order: always on the paged path, for two or more rows otherwise unless <see cref="_rowOrder"/>.</summary>
    private bool BatchOrder(int rows) => _batchOrder || (rows >= 2 && !_rowOrder);

    /// <summary>
    /// Last layer, rows [0, n) that the single-sequence path leaves out of its FFN: run the FFN for them on a copy of
    /// the residual and store their final-normed rows at positions pos0.. of the <see cref="ForwardHidden"/> output;
    /// the residual is restored, so the rows that do go on (the last one) and the cache are exactly as without it.
    /// </summary>
    private void CaptureHidden(DeepSeek2Layer L, int n, int pos0)
    {
        if (n <= 0) return;
        int E = DeepSeekConfig.EmbedDim;
        if (_xSave.Length < n * E) _xSave = new float[_x.Length];
        _x.AsSpan(0, n * E).CopyTo(_xSave);
        Ffn(L, n);
        RmsNorm.ApplyRows(_x, _outputNorm, DeepSeekConfig.RmsEps, new Span<float>(_hidden + (long)(pos0 - _hiddenBase) * E, n * E), n, E);
        _xSave.AsSpan(0, n * E).CopyTo(_x);
    }

    /// <summary>Copies <paramref name="n"/> final-normed rows of positions pos0.. to the <see cref="ForwardHidden"/> output, if one is set.</summary>
    private void StoreHidden(ReadOnlySpan<float> rows, int pos0, int n)
    {
        if (_hidden == null) return;
        int E = DeepSeekConfig.EmbedDim;
        rows[..(n * E)].CopyTo(new Span<float>(_hidden + (long)(pos0 - _hiddenBase) * E, n * E));
    }
}
