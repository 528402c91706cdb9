using System.Numerics.Tensors;
using Whale.Gguf;
using Whale.Kernels;
using Whale.Models.Paged;

namespace Whale.Models;

/// <summary>
/// The llama-family forward pass (architectures <c>llama</c> and <c>qwen2</c>): RMSNorm, GQA attention with RoPE
/// (NORM pairing for llama, NEOX for qwen2; optional q/k/v biases; llama3 rope_freqs), SwiGLU FFN.
/// Shapes: T tokens in a micro-batch, E embed, H heads, Hkv kv heads, D head dim, F ffn dim, V vocab.
/// </summary>
public sealed unsafe class LlamaModel : IModel, IPagedModel
{
    private readonly WorkerPool _pool;
    private readonly bool _ownsPool;
    private readonly WeightMatrix _tokenEmbd, _output;
    private readonly float[] _outputNorm;
    private readonly LayerWeights[] _layers;
    private readonly Rope _rope;
    private readonly int _maxBatch;
    private readonly object _gate = new();
    private readonly MicroBatchForward _forwardBatch;

    // Workspace, sized for _maxBatch tokens (no allocation per forward).
    private readonly float[] _x, _h, _q, _k, _v, _att, _ff1, _ff2, _cos, _sin, _last;
    private readonly float[][] _scores;
    private byte[] _qx;

    // Parallel matmul job (fields + one cached delegate: no closure per call).
    private WeightMatrix? _mmW;
    private int _mmBatch;
    private float* _mmY;
    // up to two more products of the same job (MatMulGroup): same input, so one pool hand-off for q/k/v and gate/up
    private WeightMatrix? _mmW2, _mmW3;
    private float* _mmY2, _mmY3;
    private bool _mmSwiGlu;                          // gate (first) ← silu(gate) · up (second), each worker on its rows
    private readonly Action<int, int> _mmBody, _convBody;
    // Parallel activation conversion job, and what _qx holds.
    private WeightMatrix? _cvW;
    private float[]? _cvX;
    private int _cvBatch, _qxCols, _qxBatch;
    private Gguf.GgmlType _qxType;
    // Parallel attention job.
    private int _atLayer, _atT, _atStart;
    private KvCache? _atCache;
    private readonly Action<int, int> _atBody, _cvBody;
    // F32 copies of the current layer's cache rows: K [Hkv][pos][D], V transposed [Hkv][D][pos]; _kvCap positions.
    private float[] _kf = [], _vt = [];
    private int _kvCap;
    // Paged (continuous batching) forward: every product in the batched order; per-sequence F32 K/V regions.
    private bool _batchOrder;
    private PagedBatch? _pgBatch;
    private PagedKvCache? _pgCache;
    private int[] _pgRows = [];          // per sequence: first row of its region in _pkf/_pvt (rows of kvDim)
    private float[] _pkf = [], _pvt = [];
    private int _pgMaxCap;
    private readonly Action<int, int> _pcvBody, _patBody;
    // Row-wise work on the pool, the same arithmetic per row as one thread would do: q/k/v bias + RoPE + cache store
    // (_qkvBody, for layer _atLayer) and residual add + RMSNorm (_normBody).
    private readonly Action<int, int> _qkvBody, _normBody;
    private readonly int[] _pos;         // positions of the current (non-paged) batch's tokens
    private bool _nmAdd;
    private float[]? _nmBias, _nmWeight;
    private int _nmRows;

    /// <summary>
    /// Builds the model over the tensors of an open file (kept open by the caller). <paramref name="repackWeights"/>:
    /// copy Q8_0/Q4_K/Q5_K/Q6_K matrices at load into the row-lane kernels' layout (faster products in their own
    /// summation order; the mapped pages of those tensors are released); null = yes unless the environment sets
    /// WHALE_REPACK=0.
    /// </summary>
    public LlamaModel(GgufFile file, WorkerPool? pool = null, int maxBatch = 512, bool? repackWeights = null)
    {
        Config = ModelConfig.FromGguf(file);
        var c = Config;
        var w = new WeightLoader(file, repackWeights ?? WeightLoader.RepackByDefault);
        _pool = pool ?? new WorkerPool(Environment.ProcessorCount);
        _ownsPool = pool is null;
        _maxBatch = maxBatch;
        int qDim = c.NumHeads * c.HeadDim, kvDim = c.KvDim;
        try
        {
            // the embedding table is only looked up (a few rows per step) unless the output product uses it too
            _tokenEmbd = w.TryMatrix("token_embd.weight", c.EmbedDim, c.VocabSize, repackThis: false)
                ?? throw new GgufException($"{file.Path}: missing tensor 'token_embd.weight'");
            _output = w.TryMatrix("output.weight", c.EmbedDim, c.VocabSize) ?? _tokenEmbd;
            if (ReferenceEquals(_output, _tokenEmbd)) w.Repack(_output);
            _outputNorm = w.Vector("output_norm.weight", c.EmbedDim);
            var ropeFreqs = w.TryVector("rope_freqs.weight", c.RopeDim / 2);
            _rope = new Rope(c.RopeDim, c.RopeMode, c.RopeBase, ropeFreqs, c.RopeFreqScale);
            _layers = new LayerWeights[c.NumLayers];
            for (int l = 0; l < c.NumLayers; l++)
            {
                string p = $"blk.{l}.";
                _layers[l] = new LayerWeights
                {
                    AttnNorm = w.Vector(p + "attn_norm.weight", c.EmbedDim),
                    Wq = w.Matrix(p + "attn_q.weight", c.EmbedDim, qDim),
                    Wk = w.Matrix(p + "attn_k.weight", c.EmbedDim, kvDim),
                    Wv = w.Matrix(p + "attn_v.weight", c.EmbedDim, kvDim),
                    Wo = w.Matrix(p + "attn_output.weight", qDim, c.EmbedDim),
                    Bq = w.TryVector(p + "attn_q.bias", qDim),
                    Bk = w.TryVector(p + "attn_k.bias", kvDim),
                    Bv = w.TryVector(p + "attn_v.bias", kvDim),
                    Bo = w.TryVector(p + "attn_output.bias", c.EmbedDim),
                    FfnNorm = w.Vector(p + "ffn_norm.weight", c.EmbedDim),
                    Gate = w.Matrix(p + "ffn_gate.weight", c.EmbedDim, c.FfnDim),
                    Up = w.Matrix(p + "ffn_up.weight", c.EmbedDim, c.FfnDim),
                    Down = w.Matrix(p + "ffn_down.weight", c.FfnDim, c.EmbedDim),
                };
            }
        }
        catch
        {
            w.DisposeRepacked();   // native copies of the matrices loaded before the error
            throw;
        }
        _x = new float[maxBatch * c.EmbedDim];
        _h = new float[maxBatch * c.EmbedDim];
        _q = new float[maxBatch * qDim];
        _k = new float[maxBatch * kvDim];
        _v = new float[maxBatch * kvDim];
        _att = new float[maxBatch * qDim];
        _ff1 = new float[maxBatch * c.FfnDim];
        _ff2 = new float[maxBatch * c.FfnDim];
        _cos = new float[maxBatch * c.RopeDim / 2];
        _sin = new float[maxBatch * c.RopeDim / 2];
        _last = new float[c.EmbedDim];
        _pos = new int[maxBatch];
        _scores = new float[_pool.WorkerCount][];
        _qx = [];
        _mmBody = MatMulWorker;
        _forwardBatch = ForwardBatch;
        _convBody = ConvertWorker;
        _atBody = AttentionWorker;
        _cvBody = ConvertKvWorker;
        _pcvBody = PagedConvertWorker;
        _patBody = PagedAttentionWorker;
        _qkvBody = QkvWorker;
        _normBody = NormWorker;
    }

    public ModelConfig Config { get; }

    public KvCache CreateCache(int contextSize) => new(Config.NumLayers, contextSize, Config.KvDim);

    public void Forward(ReadOnlySpan<int> tokens, KvCache cache, Span<float> logits, bool allLogits = false)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (cache.KvDim != Config.KvDim || cache.Layers != Config.NumLayers || !cache.HasValues)
            throw new ArgumentException("the cache was not created by this model", nameof(cache));
        ForwardChunks.Run(tokens, cache, logits, allLogits, Config.VocabSize, _maxBatch, _gate, _forwardBatch);
    }

    private void ForwardBatch(ReadOnlySpan<int> tokens, KvCache cache, Span<float> logits, bool allLogits, bool wantLogits)
    {
        var c = Config;
        int T = tokens.Length, E = c.EmbedDim, pos0 = cache.Length;
        int qDim = c.NumHeads * c.HeadDim, kvDim = c.KvDim, half = c.RopeDim / 2;

        // x: [T, E] embeddings
        for (int t = 0; t < T; t++) _tokenEmbd.DequantizeRow(tokens[t], _x.AsSpan(t * E, E));
        EnsureKvBuffers(cache.ContextSize);
        for (int t = 0; t < T; t++) _rope.Angles(pos0 + t, _cos.AsSpan(t * half, half), _sin.AsSpan(t * half, half));

        for (int t = 0; t < T; t++) _pos[t] = pos0 + t;
        _atT = T; _atStart = pos0; _atCache = cache;

        bool pending = false;   // _h holds the previous layer's FFN output, not yet added to _x
        for (int l = 0; l < c.NumLayers; l++)
        {
            var L = _layers[l];
            ResidualNorm(pending, null, L.AttnNorm, T);          // x += h; h = norm(x)
            MatMulGroup(_h, T, L.Wq, _q, L.Wk, _k, L.Wv, _v);   // q: [T, H*D], k, v: [T, Hkv*D]
            _atLayer = l;
            RunRows(_qkvBody, T);                                // biases, RoPE, F16 cache rows
            _pool.Run(_cvBody);
            _pool.Run(_atBody);                                  // att: [T, H*D]

            MatMul(L.Wo, _att, T, _h);
            ResidualNorm(true, L.Bo, L.FfnNorm, T);              // x += h + bo; h = norm(x)
            MatMulGroup(_h, T, L.Gate, _ff1, L.Up, _ff2, swiGlu: true);   // [T, F]: silu(gate) · up
            MatMul(L.Down, _ff1, T, _h);
            pending = true;
        }
        cache.Length = pos0 + T;
        _atCache = null;
        if (!wantLogits) return;

        if (allLogits)
        {
            ResidualNorm(pending, null, _outputNorm, T);
            fixed (float* y = logits) MatMul(_output, _h, T, y);
        }
        else
        {
            var x = _x.AsSpan((T - 1) * E, E);
            if (pending) TensorPrimitives.Add(x, _h.AsSpan((T - 1) * E, E), x);
            RmsNorm.Apply(x, _outputNorm, c.RmsEps, _last);
            fixed (float* y = logits) MatMul(_output, _last, 1, y);
        }
    }

    int IPagedModel.MaxBatchTokens => _maxBatch;

    PagedKvCache IPagedModel.CreatePagedCache(int numBlocks, int blockSize) => new(Config.NumLayers, numBlocks, blockSize, Config.KvDim);

    void IPagedModel.ForwardPaged(PagedBatch batch, PagedKvCache cache, Span<float> logits)
    {
        int T = batch.TokenCount, vocab = Config.VocabSize;
        if (T == 0) throw new ArgumentException("no tokens to evaluate", nameof(batch));
        if (T > _maxBatch) throw new ArgumentException($"{T} tokens exceed the batch limit {_maxBatch}", nameof(batch));
        if (logits.Length < batch.LogitRows * vocab) throw new ArgumentException("logits buffer too small", nameof(logits));
        for (int t = 0; t < T; t++)
            if ((uint)batch.Tokens[t] >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(batch), $"token id {batch.Tokens[t]} is outside the vocabulary");
        lock (_gate)
        {
            _batchOrder = true;
            try { ForwardPagedCore(batch, cache, logits); }
            finally
            {
                _batchOrder = false;
                _pgBatch = null; _pgCache = null;
            }
        }
    }

    private void ForwardPagedCore(PagedBatch b, PagedKvCache cache, Span<float> logits)
    {
        var c = Config;
        int T = b.TokenCount, E = c.EmbedDim, S = b.Sequences, bs = cache.BlockSize;
        int qDim = c.NumHeads * c.HeadDim, kvDim = c.KvDim, half = c.RopeDim / 2;
        for (int t = 0; t < T; t++)
        {
            _tokenEmbd.DequantizeRow(b.Tokens[t], _x.AsSpan(t * E, E));
            _rope.Angles(b.Positions[t], _cos.AsSpan(t * half, half), _sin.AsSpan(t * half, half));
        }
        // Per-sequence F32 regions: Padded(context) rows each.
        if (_pgRows.Length < S + 1) _pgRows = new int[Math.Max(S + 1, _pgRows.Length * 2)];
        int rows = 0, maxCap = 0;
        for (int s = 0; s < S; s++)
        {
            _pgRows[s] = rows;
            int cap = Attention.Padded(b.SeqContext[s]);
            rows += cap;
            maxCap = Math.Max(maxCap, cap);
        }
        _pgRows[S] = rows;
        if (_pkf.Length < (long)rows * kvDim)
        {
            _pkf = new float[(long)rows * kvDim * 5 / 4];
            _pvt = new float[_pkf.Length];
        }
        _pgMaxCap = maxCap;
        _pgBatch = b; _pgCache = cache;

        _atT = T;
        bool pending = false;   // _h holds the previous layer's FFN output, not yet added to _x
        for (int l = 0; l < c.NumLayers; l++)
        {
            var L = _layers[l];
            ResidualNorm(pending, null, L.AttnNorm, T);
            MatMulGroup(_h, T, L.Wq, _q, L.Wk, _k, L.Wv, _v);
            _atLayer = l;
            RunRows(_qkvBody, T);
            _pool.Run(_pcvBody);
            _pool.Run(_patBody);

            MatMul(L.Wo, _att, T, _h);
            ResidualNorm(true, L.Bo, L.FfnNorm, T);
            MatMulGroup(_h, T, L.Gate, _ff1, L.Up, _ff2, swiGlu: true);
            MatMul(L.Down, _ff1, T, _h);
            pending = true;
        }
        if (b.LogitRows == 0) return;
        // finish the residual of each logit row first: the norms below write rows of _h that precede it
        for (int s = 0; s < S; s++)
        {
            if (b.SeqLogitRow[s] < 0) continue;
            int last = b.SeqStart[s] + b.SeqCount[s] - 1;
            var x = _x.AsSpan(last * E, E);
            if (pending) TensorPrimitives.Add(x, _h.AsSpan(last * E, E), x);
        }
        for (int s = 0; s < S; s++)
        {
            int r = b.SeqLogitRow[s];
            if (r < 0) continue;
            int last = b.SeqStart[s] + b.SeqCount[s] - 1;
            RmsNorm.Apply(_x.AsSpan(last * E, E), _outputNorm, c.RmsEps, _h.AsSpan(r * E, E));
        }
        fixed (float* y = logits) MatMul(_output, _h, b.LogitRows, y);
    }

    /// <summary>Converts every batched sequence's cache rows [0, context) to F32 in its region, rows split across workers.</summary>
    private void PagedConvertWorker(int index, int count)
    {
        var c = Config;
        var b = _pgBatch!;
        var cache = _pgCache!;
        int S = b.Sequences, bs = cache.BlockSize, kvDim = c.KvDim;
        long total = 0;
        for (int s = 0; s < S; s++) total += b.SeqContext[s];
        var (r0, r1) = WorkerPool.Split((int)total, index, count);
        fixed (Half* kl = cache.K(_atLayer))
        fixed (Half* vl = cache.V(_atLayer))
        fixed (float* kf = _pkf)
        fixed (float* vt = _pvt)
        {
            long seqFirst = 0;
            for (int s = 0; s < S && seqFirst < r1; s++)
            {
                int n = b.SeqContext[s], cap = Attention.Padded(n);
                float* kfs = kf + (long)_pgRows[s] * kvDim, vts = vt + (long)_pgRows[s] * kvDim;
                int j0 = (int)Math.Max(0, r0 - seqFirst), j1 = (int)Math.Min(n, r1 - seqFirst);
                var table = b.SeqBlocks[s];
                while (j0 < j1)
                {
                    int blk = j0 / bs, end = Math.Min(j1, (blk + 1) * bs);
                    long shift = ((long)table[blk] - blk) * bs * kvDim;   // slot of position j = j + shift / kvDim
                    Attention.ConvertRows(kl + shift, vl + shift, c.NumKvHeads, c.HeadDim, j0, end, kfs, vts, cap);
                    j0 = end;
                }
                seqFirst += n;
            }
            if (index == count - 1)
            {
                for (int s = 0; s < S; s++)
                {
                    int n = b.SeqContext[s], cap = Attention.Padded(n);
                    Attention.ClearPadding(c.NumKvHeads, c.HeadDim, n, cap, vt + (long)_pgRows[s] * kvDim, cap);
                }
            }
        }
    }

    /// <summary>Attention of (token, head) pairs over the token's own sequence region, always in the batched order.</summary>
    private void PagedAttentionWorker(int index, int count)
    {
        var c = Config;
        var b = _pgBatch!;
        int H = c.NumHeads, D = c.HeadDim, group = H / c.NumKvHeads, qDim = H * D, kvDim = c.KvDim;
        var (s0, e0) = Attention.SplitCausal(b.Positions.AsSpan(0, _atT), H, _atT >= count ? group : 1, index, count);
        if (s0 >= e0) return;
        var ws = _scores[index];
        int need = group * (Math.Max(_pgMaxCap, _kvCap) + D);
        if (ws is null || ws.Length < need) ws = _scores[index] = new float[need];
        fixed (float* scratch = ws)
        fixed (float* q = _q)
        fixed (float* att = _att)
        fixed (float* kf = _pkf)
        fixed (float* vt = _pvt)
        {
            for (int job = s0; job < e0;)
            {
                int t = job / H, h = job % H, kvh = h / group;
                int s = b.TokenSeq[t], cap = Attention.Padded(b.SeqContext[s]);
                float* kfs = kf + (long)_pgRows[s] * kvDim, vts = vt + (long)_pgRows[s] * kvDim;
                int nh = Math.Min(e0 - job, (kvh + 1) * group - h);      // heads of this kv group left in the range
                if (nh > 1 && Attention.Heads(q + t * qDim + h * D, kfs + (long)kvh * cap * D, vts + (long)kvh * D * cap, cap,
                        b.Positions[t] + 1, D, D, c.AttentionScale, nh, scratch, att + t * qDim + h * D))
                {
                    job += nh;
                    continue;
                }
                Attention.Head(q + t * qDim + h * D, kfs + (long)kvh * cap * D, vts + (long)kvh * D * cap, cap, b.Positions[t] + 1, D, D,
                    c.AttentionScale, batched: true, scratch, scratch + cap, att + t * qDim + h * D);
                job++;
            }
        }
    }

    private void MatMul(WeightMatrix w, float[] x, int batch, float[] y, bool sameInput = false)
    {
        fixed (float* py = y) MatMul(w, x, batch, py, sameInput);
    }

    /// <summary>
    /// y = W·x on the pool. <paramref name="sameInput"/>: x is the input of the previous product, unchanged, and W
    /// has the same activation type and width, so the converted activations are reused.
    /// </summary>
    private void MatMul(WeightMatrix w, float[] x, int batch, float* y, bool sameInput = false)
    {
        long need = w.ActivationRowBytes * batch;
        if (!(sameInput && _qxType == w.ActivationType && _qxCols == w.Cols && _qxBatch == batch))
        {
            if (_qx.Length < need) _qx = new byte[need];
            _cvW = w; _cvX = x; _cvBatch = batch;
            if (batch >= 2) _pool.Run(_convBody);
            else w.ConvertActivations(x.AsSpan(0, batch * w.Cols), batch, _qx);
            _cvW = null; _cvX = null;
            _qxType = w.ActivationType; _qxCols = w.Cols; _qxBatch = batch;
        }
        _mmW = w; _mmBatch = batch; _mmY = y;
        _pool.Run(_mmBody);
        _mmW = null;
    }

    /// <summary>
    /// y1 = W1·x, y2 = W2·x (and y3 = W3·x) as one pool job when the matrices take the same activations (type and width):
    /// each worker computes its rows of each product, so q/k/v (and gate/up) cost one hand-off instead of three (two).
    /// <paramref name="swiGlu"/>: then y1 ← silu(y1) · y2 (W1, W2 of the same rows), each worker on the rows it computed.
    /// Every output is computed as by <see cref="MatMul(WeightMatrix, float[], int, float[], bool)"/> (the kernels give a row
    /// the same bits whatever the split); matrices that differ in activation type or row alignment run one by one.
    /// </summary>
    private void MatMulGroup(float[] x, int batch, WeightMatrix w1, float[] y1, WeightMatrix w2, float[] y2,
        WeightMatrix? w3 = null, float[]? y3 = null, bool swiGlu = false)
    {
        bool same = Compatible(w1, w2) && (w3 is null || Compatible(w1, w3)) && (!swiGlu || (w1.Rows == w2.Rows && w3 is null));
        if (!same)
        {
            MatMul(w1, x, batch, y1);
            MatMul(w2, x, batch, y2, sameInput: true);
            if (w3 is not null) MatMul(w3, x, batch, y3!, sameInput: true);
            if (swiGlu) SwiGlu.Apply(_pool, y1.AsSpan(0, batch * w1.Rows), y2);
            return;
        }
        fixed (float* p2 = y2)
        fixed (float* p3 = y3)
        {
            _mmW2 = w2; _mmY2 = p2; _mmW3 = w3; _mmY3 = p3; _mmSwiGlu = swiGlu;
            try
            {
                MatMul(w1, x, batch, y1);
            }
            finally
            {
                _mmW2 = null; _mmW3 = null; _mmY2 = null; _mmY3 = null; _mmSwiGlu = false;
            }
        }
    }

    private static bool Compatible(WeightMatrix a, WeightMatrix b)
        => a.ActivationType == b.ActivationType && a.Cols == b.Cols && a.RowAlignment == b.RowAlignment;

    private void ConvertWorker(int index, int count)
    {
        var w = _cvW!;
        var (s, e) = WorkerPool.Split(_cvBatch, index, count);
        if (s >= e) return;
        long arb = w.ActivationRowBytes;
        w.ConvertActivations(_cvX.AsSpan(s * w.Cols, (e - s) * w.Cols), e - s, _qx.AsSpan((int)(s * arb), (int)((e - s) * arb)));
    }

    private void MatMulWorker(int index, int count)
    {
        var w = _mmW!;
        var (s, e) = WorkerPool.Split(w.Rows, index, count, w.RowAlignment);
        bool order = _batchOrder || _mmBatch >= 2;
        var qx = _qx.AsSpan(0, (int)(w.ActivationRowBytes * _mmBatch));
        if (s < e) w.MatMul(qx, _mmBatch, new Span<float>(_mmY, _mmBatch * w.Rows), s, e, order);
        if (_mmW2 is { } w2)
        {
            var (s2, e2) = WorkerPool.Split(w2.Rows, index, count, w2.RowAlignment);
            if (s2 < e2) w2.MatMul(qx, _mmBatch, new Span<float>(_mmY2, _mmBatch * w2.Rows), s2, e2, order);
        }
        if (_mmW3 is { } w3)
        {
            var (s3, e3) = WorkerPool.Split(w3.Rows, index, count, w3.RowAlignment);
            if (s3 < e3) w3.MatMul(qx, _mmBatch, new Span<float>(_mmY3, _mmBatch * w3.Rows), s3, e3, order);
        }
        if (_mmSwiGlu && s < e)
        {
            // gate and up have the same rows and split: this worker's rows of both are done
            int F = w.Rows;
            for (int t = 0; t < _mmBatch; t++)
                SwiGlu.Apply(new Span<float>(_mmY + (long)t * F + s, e - s), new ReadOnlySpan<float>(_mmY2 + (long)t * F + s, e - s));
        }
    }

    /// <summary>Converts the layer's cache rows [0, start + T) to F32 (K rows, V transposed), rows split across workers.</summary>
    private void ConvertKvWorker(int index, int count)
    {
        var c = Config;
        var cache = _atCache!;
        int n = _atStart + _atT;
        var (s, e) = WorkerPool.Split(n, index, count);
        fixed (Half* k = cache.K(_atLayer, 0, n))
        fixed (Half* v = cache.V(_atLayer, 0, n))
        fixed (float* kf = _kf)
        fixed (float* vt = _vt)
        {
            if (s < e) Attention.ConvertRows(k, v, c.NumKvHeads, c.HeadDim, s, e, kf, vt, _kvCap);
            if (index == count - 1) Attention.ClearPadding(c.NumKvHeads, c.HeadDim, n, Attention.Padded(n), vt, _kvCap);
        }
    }

    /// <summary>Causal GQA attention for (token, head) pairs split across workers (see <see cref="Attention"/>).</summary>
    private void AttentionWorker(int index, int count)
    {
        var c = Config;
        int H = c.NumHeads, D = c.HeadDim, group = H / c.NumKvHeads, qDim = H * D;
        var (s, e) = Attention.SplitCausal(_pos.AsSpan(0, _atT), H, _atT >= count ? group : 1, index, count);
        if (s >= e) return;
        bool batched = _atT >= 2;
        var ws = _scores[index];
        if (ws is null || ws.Length < group * (_kvCap + D)) ws = _scores[index] = new float[group * (_kvCap + D)];
        fixed (float* scratch = ws)
        fixed (float* q = _q)
        fixed (float* att = _att)
        fixed (float* kf = _kf)
        fixed (float* vt = _vt)
        {
            for (int job = s; job < e;)
            {
                int t = job / H, h = job % H, kvh = h / group;
                int nKv = _atStart + t + 1;
                int nh = Math.Min(e - job, (kvh + 1) * group - h);        // heads of this kv group left in the range
                if (batched && nh > 1 && Attention.Heads(q + t * qDim + h * D, kf + (long)kvh * _kvCap * D, vt + (long)kvh * D * _kvCap,
                        _kvCap, nKv, D, D, c.AttentionScale, nh, scratch, att + t * qDim + h * D))
                {
                    job += nh;
                    continue;
                }
                // one token: the group's heads together, so its K and V rows are read once, not once per head
                if (!batched && nh > 1 && Attention.HeadsVecDot(q + t * qDim + h * D, kf + (long)kvh * _kvCap * D, vt + (long)kvh * D * _kvCap,
                        _kvCap, nKv, D, D, c.AttentionScale, nh, scratch, att + t * qDim + h * D))
                {
                    job += nh;
                    continue;
                }
                Attention.Head(q + t * qDim + h * D, kf + (long)kvh * _kvCap * D, vt + (long)kvh * D * _kvCap, _kvCap, nKv, D, D,
                    c.AttentionScale, batched, scratch, scratch + _kvCap, att + t * qDim + h * D);
                job++;
            }
        }
    }

    /// <summary>Sizes the F32 K / transposed V buffers for a cache of <paramref name="contextSize"/> positions.</summary>
    private void EnsureKvBuffers(int contextSize)
    {
        int cap = Attention.Padded(contextSize);
        if (cap <= _kvCap) return;
        _kvCap = cap;
        _kf = new float[(long)Config.KvDim * cap];
        _vt = new float[(long)Config.KvDim * cap];
    }

    /// <summary>Runs a row-wise body on the pool, or on this thread for a single row (a pool round trip costs more).</summary>
    private void RunRows(Action<int, int> body, int rows)
    {
        if (rows >= 2 && _pool.WorkerCount > 1) _pool.Run(body);
        else body(0, 1);
    }

    /// <summary>
    /// Rows [0, rows): when <paramref name="add"/>, x += h (+ <paramref name="bias"/>, added to h first, as the serial
    /// form did); then h = RMSNorm(x) · <paramref name="weight"/>. Rows split across the pool.
    /// </summary>
    private void ResidualNorm(bool add, float[]? bias, float[] weight, int rows)
    {
        _nmAdd = add; _nmBias = bias; _nmWeight = weight; _nmRows = rows;
        RunRows(_normBody, rows);
        _nmBias = null; _nmWeight = null;
    }

    private void NormWorker(int index, int count)
    {
        int E = Config.EmbedDim;
        var (s, e) = WorkerPool.Split(_nmRows, index, count);
        for (int r = s; r < e; r++)
        {
            var x = _x.AsSpan(r * E, E);
            var h = _h.AsSpan(r * E, E);
            if (_nmAdd)
            {
                if (_nmBias is { } bias) TensorPrimitives.Add(h, bias, h);
                TensorPrimitives.Add(x, h, x);
            }
            RmsNorm.Apply(x, _nmWeight!, Config.RmsEps, h);
        }
    }

    /// <summary>
    /// Tokens split across workers: q/k/v biases, RoPE on q and k, then k and v rounded to F16 into the cache rows of
    /// layer _atLayer (contiguous from _atStart, or the paged batch's block slots).
    /// </summary>
    private void QkvWorker(int index, int count)
    {
        var c = Config;
        var L = _layers[_atLayer];
        int qDim = c.NumHeads * c.HeadDim, kvDim = c.KvDim, half = c.RopeDim / 2;
        var (s, e) = WorkerPool.Split(_atT, index, count);
        var b = _pgBatch;
        for (int t = s; t < e; t++)
        {
            var q = _q.AsSpan(t * qDim, qDim);
            var k = _k.AsSpan(t * kvDim, kvDim);
            var v = _v.AsSpan(t * kvDim, kvDim);
            if (L.Bq is { } bq) TensorPrimitives.Add(q, bq, q);
            if (L.Bk is { } bk) TensorPrimitives.Add(k, bk, k);
            if (L.Bv is { } bv) TensorPrimitives.Add(v, bv, v);
            var cos = _cos.AsSpan(t * half, half);
            var sin = _sin.AsSpan(t * half, half);
            _rope.Apply(q, c.NumHeads, c.HeadDim, cos, sin);
            _rope.Apply(k, c.NumKvHeads, c.HeadDim, cos, sin);
            // cache rows are F16, as llama.cpp's default cache type
            if (b is null)
            {
                TensorPrimitives.ConvertToHalf(k, _atCache!.K(_atLayer, _atStart + t, 1));
                TensorPrimitives.ConvertToHalf(v, _atCache.V(_atLayer, _atStart + t, 1));
            }
            else
            {
                int pos = b.Positions[t], bs = _pgCache!.BlockSize;
                int slot = (int)(((long)b.SeqBlocks[b.TokenSeq[t]][pos / bs] * bs + pos % bs) * kvDim);
                TensorPrimitives.ConvertToHalf(k, _pgCache.K(_atLayer).AsSpan(slot, kvDim));
                TensorPrimitives.ConvertToHalf(v, _pgCache.V(_atLayer).AsSpan(slot, kvDim));
            }
        }
    }

    /// <summary>Frees the repacked weights and the worker pool if the model created it.</summary>
    public void Dispose()
    {
        foreach (var m in Matrices()) m.Dispose();
        if (_ownsPool) _pool.Dispose();
    }

    /// <summary>Every weight matrix of the model (the tied output counted once).</summary>
    internal IEnumerable<WeightMatrix> Matrices()
    {
        yield return _tokenEmbd;
        if (!ReferenceEquals(_output, _tokenEmbd)) yield return _output;
        foreach (var L in _layers)
        {
            yield return L.Wq; yield return L.Wk; yield return L.Wv; yield return L.Wo;
            yield return L.Gate; yield return L.Up; yield return L.Down;
        }
    }
}
