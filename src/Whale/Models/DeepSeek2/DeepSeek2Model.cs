using System.Numerics.Tensors;
using Whale.Gguf;
using Whale.Kernels;
using Whale.Models.Paged;

namespace Whale.Models.DeepSeek2;

/// <summary>
/// The <c>deepseek2</c> forward pass (DeepSeek-V2, V2-Lite, V3, R1) as llama.cpp computes it: multi-head latent
/// attention in absorbed form over a cache of [normalized latent | rotated rope key] rows (C + Dr F16 values per token
/// per layer), leading dense FFN layers, then DeepSeekMoE layers (router, group-limited top-k, shared experts).
/// Shapes: T tokens in a micro-batch, E embed, H heads, Dn/Dr/Dk = Dn+Dr/Dv head parts, C kv_lora_rank,
/// R = C + Dr cache row, Q q_lora_rank, X experts, K experts per token, F dense ffn, Fe expert ffn, Fs shared ffn.
/// </summary>
public sealed unsafe partial class DeepSeek2Model : IModel, IPagedModel, IMtpModel
{
    private readonly WorkerPool _pool;
    private readonly bool _ownsPool;
    private readonly WeightMatrix _tokenEmbd, _output;
    private readonly float[] _outputNorm;
    private readonly DeepSeek2Layer[] _layers;
    private readonly IReadOnlyList<byte[]> _owned;
    private readonly Rope _rope;
    private readonly MoeRouter? _router;
    private readonly int _maxBatch;
    private readonly float _kqScale;
    private readonly object _gate = new();
    private readonly MicroBatchForward _forwardBatch;
    private const long InlineWork = 1 << 16;     // multiply-adds below which a product is not split across workers

    // Workspace for _maxBatch tokens (no allocation per forward once warm).
    private readonly int[] _pos;    // positions of the current (non-paged) batch's tokens
    private readonly float[] _x, _h, _qa, _q, _kv, _qcat, _lat, _att, _ff1, _ff2, _moe, _slot, _eIn, _eOut;
    private readonly float[] _routerLogits, _routeW, _probs, _selScratch, _cos, _sin, _last;
    private readonly int[] _routeSel, _expCount, _expStart, _expTok;
    private float[] _kvf = [];                       // F32 copy of the layer's cache rows [n_kv, R]
    private float[] _kvfT = [];                      // their latent part transposed [C, kvPad], zero past n_kv
    private readonly float[][] _scores, _hmIn, _hmOut;
    private readonly byte[][] _hmQx;
    private byte[] _qx = [];

    // Parallel matmul job.
    private WeightMatrix? _mmW;
    private int _mmBatch;
    private bool _mmPerRow;
    private float* _mmY;
    private readonly Action<int, int> _mmBody;
    // Parallel per-head matmul job: dst[t, h] = W[h] · src[t, h].
    private WeightMatrix[]? _hmW;
    private float[]? _hmSrc, _hmDst;
    private int _hmT, _hmSrcStride, _hmSrcHead, _hmDstStride, _hmDstHead;
    private readonly Action<int, int> _hmBody;
    // Parallel attention job.
    private int _atT, _atStart, _atContext, _atPad;
    private readonly Action<int, int> _atBody;
    private readonly Action<int, int> _cvBody;
    private KvCache? _cvCache;                       // the cache ConvertLatentWorker reads (set around the pool job)
    private int _cvLayer, _cvRows, _cvPad;
    // Paged (continuous batching) forward: every product in the batched order; per-sequence F32 regions of _kvf/_kvfT.
    private bool _batchOrder;
    private PagedBatch? _pgBatch;
    private int[] _pgRows = [];
    private readonly Action<int, int> _patBody;

    /// <summary>
    /// Builds the model over the tensors of an open file (kept open by the caller). <paramref name="repackWeights"/>:
    /// copy Q8_0/Q4_K/Q5_K/Q6_K matrices (experts included; not the embedding table unless the output uses it) at load
    /// into the row-lane kernels' layout (faster, their own summation order); null = yes unless the environment sets
    /// WHALE_REPACK=0.
    /// </summary>
    public DeepSeek2Model(GgufFile file, WorkerPool? pool = null, int maxBatch = 512, bool? repackWeights = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        var c = DeepSeekConfig = DeepSeek2Config.FromGguf(file);
        Config = c.ToModelConfig();
        var loader = new DeepSeek2WeightLoader(file, c);
        var w = loader.Loader;
        int E = c.EmbedDim, V = c.VocabSize, H = c.NumHeads, R = c.CacheRowDim;
        _tokenEmbd = w.Matrix("token_embd.weight", E, V);
        _output = w.TryMatrix("output.weight", E, V) ?? _tokenEmbd;
        _outputNorm = w.Vector("output_norm.weight", E);
        _layers = new DeepSeek2Layer[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++) _layers[l] = loader.Layer(l);
        _mtp = DeepSeek2MtpWeights.TryLoad(loader, c, _tokenEmbd, _output, _outputNorm);
        _owned = loader.OwnedBuffers;
        if (repackWeights ?? WeightLoader.RepackByDefault)
        {
            // after loading: the legacy kv_b split reads rows that its v_b views then cover
            try
            {
                foreach (var m in Matrices())
                    if (!ReferenceEquals(m, _tokenEmbd) || ReferenceEquals(m, _output)) WeightLoader.RepackAndRelease(m);
            }
            catch
            {
                foreach (var m in Matrices()) m.Dispose();
                throw;
            }
        }
        _rope = c.CreateRope();
        _kqScale = c.KqScale;
        bool anyMoe = c.LeadingDenseLayers < c.NumLayers || _mtp is { Block.IsMoe: true };
        _router = anyMoe ? MoeRouter.FromConfig(c) : null;
        _pool = pool ?? new WorkerPool(Environment.ProcessorCount);
        _ownsPool = pool is null;
        _maxBatch = maxBatch;

        int B = maxBatch, X = Math.Max(1, c.ExpertCount), K = Math.Max(1, c.ExpertUsedCount);
        int ff = Math.Max(c.FfnDim, Math.Max(c.ExpertFfnDim, c.ExpertFfnDim * c.SharedExpertCount));
        _x = new float[B * E];
        _h = new float[B * E];
        _qa = new float[B * Math.Max(1, c.QLoraRank)];
        _q = new float[B * H * c.QkHeadDim];
        _kv = new float[B * R];
        _qcat = new float[B * H * R];
        _lat = new float[B * H * c.KvLoraRank];
        _att = new float[B * H * c.VHeadDim];
        _ff1 = new float[B * ff];
        _ff2 = new float[B * ff];
        _moe = new float[anyMoe ? B * E : 0];
        _slot = new float[anyMoe ? B * K * E : 0];
        _eIn = new float[anyMoe ? B * E : 0];
        _eOut = new float[B * E];
        _routerLogits = new float[B * X];
        _routeW = new float[B * K];
        _routeSel = new int[B * K];
        _probs = new float[X];
        _selScratch = new float[X];
        _expCount = new int[X];
        _expStart = new int[X + 1];
        _expTok = new int[B * K];
        _cos = new float[B * c.QkRopeDim / 2];
        _sin = new float[B * c.QkRopeDim / 2];
        _last = new float[E];
        int workers = _pool.WorkerCount;
        _scores = new float[workers][];
        _pos = new int[maxBatch];
        _hmIn = new float[workers][];
        _hmOut = new float[workers][];
        _hmQx = new byte[workers][];
        _mmBody = MatMulWorker;
        _forwardBatch = ForwardBatch;
        _hmBody = HeadMatMulWorker;
        _atBody = AttentionWorker;
        _cvBody = ConvertLatentWorker;
        _patBody = PagedAttentionWorker;
    }

    /// <summary>The generic view of the config (one KV "head" of C + Dr values; AttentionScale is the MLA kq_scale).</summary>
    public ModelConfig Config { get; }

    /// <summary>The deepseek2 hyper-parameters.</summary>
    public DeepSeek2Config DeepSeekConfig { get; }

    /// <summary>A single-stream F16 cache: per layer and position one row [latent (C) | rope key (Dr)].</summary>
    public KvCache CreateCache(int contextSize) => KvCache.CreateSingleStream(DeepSeekConfig.NumLayers, contextSize, DeepSeekConfig.CacheRowDim);

    /// <inheritdoc/>
    public void Forward(ReadOnlySpan<int> tokens, KvCache cache, Span<float> logits, bool allLogits = false)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (cache.KvDim != DeepSeekConfig.CacheRowDim || cache.Layers != DeepSeekConfig.NumLayers || cache.HasValues)
            throw new ArgumentException("the cache was not created by this model", nameof(cache));
        ForwardChunks.Run(tokens, cache, logits, allLogits, Config.VocabSize, _maxBatch, _gate, _forwardBatch);
    }

    private void ForwardBatch(ReadOnlySpan<int> tokens, KvCache cache, Span<float> logits, bool allLogits, bool wantLogits)
    {
        var c = DeepSeekConfig;
        int T = tokens.Length, E = c.EmbedDim, pos0 = cache.Length;
        int half = c.QkRopeDim / 2;

        // x: [T, E] embeddings
        for (int t = 0; t < T; t++) _tokenEmbd.DequantizeRow(tokens[t], _x.AsSpan(t * E, E));
        for (int t = 0; t < T; t++) _rope.Angles(pos0 + t, _cos.AsSpan(t * half, half), _sin.AsSpan(t * half, half));

        for (int l = 0; l < c.NumLayers; l++)
        {
            var L = _layers[l];
            Attend(L, cache, l, T, pos0);

            // last layer: like llama.cpp (inp_out_ids), the FFN runs only for the rows whose logits are wanted
            int Tf = T;
            if (l == c.NumLayers - 1 && !allLogits)
            {
                if (_hidden != null) CaptureHidden(L, wantLogits ? T - 1 : T, pos0);   // the rows left out below
                if (!wantLogits) break;
                _x.AsSpan((T - 1) * E, E).CopyTo(_x);                   // the last row moves to row 0
                Tf = 1;
            }
            Ffn(L, Tf);
        }
        cache.Length = pos0 + T;
        if (!wantLogits) return;

        if (allLogits)
        {
            RmsNorm.ApplyRows(_x, _outputNorm, c.RmsEps, _h, T, E);
            StoreHidden(_h, pos0, T);
            fixed (float* y = logits) MatMul(_output, _h, T, y);
        }
        else
        {
            RmsNorm.Apply(_x.AsSpan(0, E), _outputNorm, c.RmsEps, _last);   // the last token's row (moved to row 0)
            StoreHidden(_last, pos0 + T - 1, 1);
            fixed (float* y = logits) MatMul(_output, _last, 1, y);
        }
    }

    /// <summary>
    /// x += MLA attention of block <paramref name="L"/> for the T rows of _x at positions pos0.. (angles in _cos/_sin),
    /// their cache rows written to layer <paramref name="l"/> of <paramref name="cache"/>, attending over its rows [0, pos0 + T).
    /// </summary>
    private void Attend(DeepSeek2Layer L, KvCache cache, int l, int T, int pos0)
    {
        var c = DeepSeekConfig;
        int E = c.EmbedDim, H = c.NumHeads, C = c.KvLoraRank, R = c.CacheRowDim;
        int nKv = pos0 + T;
        if (_kvf.Length < nKv * R) _kvf = new float[Math.Max(nKv, Math.Min(cache.ContextSize, 2 * nKv)) * R];
        int kvPad = Pad64(nKv);
        if (_kvfT.Length < C * kvPad) _kvfT = new float[C * Math.Max(kvPad, Pad64(Math.Min(cache.ContextSize, 2 * nKv)))];

        ProjectQueryAndLatent(L, T);                                // _q: [T, H, Dk], _kv: [T, R]
        // the cache row is F16, as llama.cpp's default K cache type
        TensorPrimitives.ConvertToHalf(_kv.AsSpan(0, T * R), cache.K(l, pos0, T));
        _cvCache = cache; _cvLayer = l; _cvRows = nKv; _cvPad = kvPad;
        if ((long)nKv * R < InlineWork) ConvertLatentWorker(0, 1);
        else _pool.Run(_cvBody);
        _cvCache = null;
        for (int d = 0; d < C; d++) _kvfT.AsSpan(d * kvPad + nKv, kvPad - nKv).Clear();

        // absorbed query: qcat[t, h] = [k_b[h] · q_nope[t, h] (C) | q_pe[t, h] (Dr)]
        // (measured: the batched tinyBLAS order matches llama.cpp best here, also for F32 k_b)
        AbsorbQuery(L, T);

        _atT = T; _atStart = pos0; _atContext = cache.ContextSize; _atPad = kvPad;
        for (int t = 0; t < T; t++) _pos[t] = pos0 + t;
        if ((long)T * H * nKv * R < InlineWork) AttentionWorker(0, 1);   // lat: [T, H, C]
        else _pool.Run(_atBody);

        // per head value: att[t, h] = v_b[h] · lat[t, h] (Dv)
        HeadMatMul(L.Vb, _lat, H * C, C, _att, H * c.VHeadDim, c.VHeadDim, T);
        MatMul(L.Wo, _att, T, _h);                                // [T, E]
        Add(_x, _h, T * E);
    }

    /// <summary>x += MoE(h) + shared(h) for the T rows of _h; only the selected experts run, tokens grouped by expert.</summary>
    private void Moe(DeepSeek2Layer L, int T)
    {
        var c = DeepSeekConfig;
        var router = _router!;
        int E = c.EmbedDim, X = c.ExpertCount, K = c.ExpertUsedCount, Fe = c.ExpertFfnDim;
        MatMul(L.GateInp!, _h, T, _routerLogits);                     // [T, X]
        var bias = L.ExpProbsBias is null ? default : L.ExpProbsBias.AsSpan();
        for (int t = 0; t < T; t++)
            router.Route(_routerLogits.AsSpan(t * X, X), bias, _probs, _selScratch, _routeSel.AsSpan(t * K, K), _routeW.AsSpan(t * K, K));

        // group the (token, slot) pairs by expert
        Array.Clear(_expCount);
        for (int i = 0; i < T * K; i++) _expCount[_routeSel[i]]++;
        _expStart[0] = 0;
        for (int e = 0; e < X; e++) _expStart[e + 1] = _expStart[e] + _expCount[e];
        Array.Clear(_expCount);
        for (int i = 0; i < T * K; i++) { int e = _routeSel[i]; _expTok[_expStart[e] + _expCount[e]++] = i; }

        for (int e = 0; e < X; e++)
        {
            int n = _expCount[e], s = _expStart[e];
            if (n == 0) continue;
            for (int j = 0; j < n; j++) _h.AsSpan(_expTok[s + j] / K * E, E).CopyTo(_eIn.AsSpan(j * E, E));
            // y_e = down_e(silu(gate_e · h) * (up_e · h)): [n, E]
            // llama.cpp's mul_mat_id computes experts with vec_dot: perRow
            MatMul(L.GateExps![e], _eIn, n, _ff1, perRow: true);      // [n, Fe]
            MatMul(L.UpExps![e], _eIn, n, _ff2, perRow: true);
            SwiGlu.Apply(_pool, _ff1.AsSpan(0, n * Fe), _ff2);
            MatMul(L.DownExps![e], _ff1, n, _eOut, perRow: true);
            for (int j = 0; j < n; j++) _eOut.AsSpan(j * E, E).CopyTo(_slot.AsSpan(_expTok[s + j] * E, E));
        }
        // moe[t] = sum over slots in selection order of w * y (each product rounded, as ggml_mul then ggml_add)
        for (int t = 0; t < T; t++)
        {
            var m = _moe.AsSpan(t * E, E);
            for (int k = 0; k < K; k++)
            {
                float wk = _routeW[t * K + k];
                var y = _slot.AsSpan((t * K + k) * E, E);
                if (k == 0) for (int i = 0; i < E; i++) m[i] = y[i] * wk;
                else for (int i = 0; i < E; i++) m[i] += y[i] * wk;
            }
        }
        if (L.GateShexp is not null)
        {
            SwiGluFfn(L.GateShexp, L.UpShexp!, L.DownShexp!, _h, T, _eOut);
            for (int i = 0; i < T * E; i++) _x[i] += _moe[i] + _eOut[i];
        }
        else
        {
            Add(_x, _moe, T * E);
        }
    }

    /// <summary>y = down(silu(gate · x) * (up · x)) for T rows.</summary>
    private void SwiGluFfn(WeightMatrix gate, WeightMatrix up, WeightMatrix down, float[] x, int T, float[] y)
    {
        MatMul(gate, x, T, _ff1);
        MatMul(up, x, T, _ff2);
        SwiGlu.Apply(_pool, _ff1.AsSpan(0, T * gate.Rows), _ff2);
        MatMul(down, _ff1, T, y);
    }

    private void MatMul(WeightMatrix w, float[] x, int batch, float[] y, bool perRow = false)
    {
        fixed (float* py = y) MatMul(w, x, batch, py, perRow);
    }

    /// <summary>
    /// y = W·x for <paramref name="batch"/> rows. <paramref name="perRow"/>: ggml's vec_dot order even for float weights,
    /// as llama.cpp's mul_mat_id computes the experts (otherwise two or more rows of float weights take tinyBLAS's
    /// order); quantized weights give each row the same bits either way, so they always run as one batched product.
    /// </summary>
    private void MatMul(WeightMatrix w, float[] x, int batch, float* y, bool perRow = false)
    {
        long need = w.ActivationRowBytes * batch;
        if (_qx.Length < need) _qx = new byte[need];
        w.ConvertActivations(x.AsSpan(0, batch * w.Cols), batch, _qx);
        _mmW = w; _mmBatch = batch; _mmY = y; _mmPerRow = perRow;
        // small products (tiny models, single-token decode of small experts) run inline: a pool barrier costs more
        if ((long)w.Rows * w.Cols * batch < InlineWork) MatMulWorker(0, 1);
        else _pool.Run(_mmBody);
        _mmW = null;
    }

    private void MatMulWorker(int index, int count)
    {
        var w = _mmW!;
        var (s, e) = WorkerPool.Split(w.Rows, index, count, w.RowAlignment);
        if (s >= e) return;
        long arb = w.ActivationRowBytes;
        // one activation row at a time matters only for float weights (two or more rows take tinyBLAS's order there);
        // quantized products give every row the same bits alone or in a batch, so experts run as tiles
        if (!_mmPerRow || w.Type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16))
        {
            w.MatMul(_qx.AsSpan(0, (int)(arb * _mmBatch)), _mmBatch, new Span<float>(_mmY, _mmBatch * w.Rows), s, e, BatchOrder(_mmBatch));
            return;
        }
        for (int b = 0; b < _mmBatch; b++)
            w.MatMul(_qx.AsSpan((int)(b * arb), (int)arb), 1, new Span<float>(_mmY + (long)b * w.Rows, w.Rows), s, e);
    }

    /// <summary>
    /// dst[t*dstStride + h*dstHead ..+rows] = W[h] · src[t*srcStride + h*srcHead ..+cols] for T tokens and every head,
    /// heads split across workers (llama.cpp's batched mul_mat of attn_k_b / attn_v_b).
    /// </summary>
    private void HeadMatMul(WeightMatrix[] w, float[] src, int srcStride, int srcHead, float[] dst, int dstStride, int dstHead, int T)
    {
        _hmW = w; _hmSrc = src; _hmDst = dst; _hmT = T;
        _hmSrcStride = srcStride; _hmSrcHead = srcHead; _hmDstStride = dstStride; _hmDstHead = dstHead;
        if ((long)w.Length * w[0].Rows * w[0].Cols * T < InlineWork) HeadMatMulWorker(0, 1);
        else _pool.Run(_hmBody);
        _hmW = null; _hmSrc = _hmDst = null;
    }

    private void HeadMatMulWorker(int index, int count)
    {
        var ws = _hmW!;
        var (s, e) = WorkerPool.Split(ws.Length, index, count);
        if (s >= e) return;
        int T = _hmT, cols = ws[0].Cols, rows = ws[0].Rows;
        long arb = ws[0].ActivationRowBytes;
        var input = _hmIn[index] is { } a && a.Length >= T * cols ? a : _hmIn[index] = new float[_maxBatch * cols];
        var output = _hmOut[index] is { } b && b.Length >= T * rows ? b : _hmOut[index] = new float[_maxBatch * rows];
        var qx = _hmQx[index] is { } q && q.Length >= T * arb ? q : _hmQx[index] = new byte[_maxBatch * arb];
        var src = _hmSrc!;
        var dst = _hmDst!;
        for (int h = s; h < e; h++)
        {
            var w = ws[h];
            for (int t = 0; t < T; t++) src.AsSpan(t * _hmSrcStride + h * _hmSrcHead, cols).CopyTo(input.AsSpan(t * cols, cols));
            w.ConvertActivations(input.AsSpan(0, T * cols), T, qx);
            w.MatMul(qx.AsSpan(0, (int)(T * arb)), T, output.AsSpan(0, T * rows), 0, rows, BatchOrder(T));
            for (int t = 0; t < T; t++) output.AsSpan(t * rows, rows).CopyTo(dst.AsSpan(t * _hmDstStride + h * _hmDstHead, rows));
        }
    }

    /// <summary>
    /// The layer's cached latent rows [0, n) to F32 (<c>_kvf</c>) and their latent part transposed (<c>_kvfT</c>, rows
    /// <c>_cvPad</c> apart), rows split across workers in multiples of 16 (whole transpose blocks); every step reads the
    /// whole cache, so at long contexts this was a serial cost of the calling thread.
    /// </summary>
    private void ConvertLatentWorker(int index, int count)
    {
        var c = DeepSeekConfig;
        int R = c.CacheRowDim, C = c.KvLoraRank;
        var (s, e) = WorkerPool.Split(_cvRows, index, count, 16);
        if (s >= e) return;
        TensorPrimitives.ConvertToSingle(_cvCache!.K(_cvLayer, s, e - s), _kvf.AsSpan(s * R, (e - s) * R));
        fixed (float* kvf = _kvf, kvfT = _kvfT) Attention.Transpose(kvf + (long)s * R, R, kvfT + s, _cvPad, e - s, C);
    }

    /// <summary>
    /// Absorbed MLA attention (MQA over the latent cache) for (token, head) pairs split across workers, computed the
    /// way llama.cpp's non-flash CPU path does: the (C + Dr)-wide query rounded to F16; K·q and V·p as tinyBLAS 16-lane
    /// FMA chains for a batch (two or more queries) or as ggml_vec_dot_f16 for one token; softmax with ggml's vector
    /// expf summed per 16 lanes in double; weights rounded to F16; V is the latent part of the cached rows.
    /// lat[t, h] = sum_j p_j c_j.
    /// </summary>
    private void AttentionWorker(int index, int count)
    {
        var c = DeepSeekConfig;
        int H = c.NumHeads, C = c.KvLoraRank, R = c.CacheRowDim;
        var (s, e) = Attention.SplitCausal(_pos.AsSpan(0, _atT), H, _atT >= count ? Math.Min(HeadGroup, H) : 1, index, count);
        if (s >= e) return;
        bool batched = BatchOrder(_atT);
        int kvPad = _atPad;
        int need = HeadGroup * (Math.Max(kvPad, Pad64(_atContext)) + R);
        var ws = _scores[index] is { } w && w.Length >= need ? w : _scores[index] = new float[need];
        fixed (float* kvf = _kvf, kvfT = _kvfT, q = _qcat, lat = _lat, scratch = ws)
        {
            for (int job = s; job < e;)
            {
                int t = job / H, nKv = _atStart + t + 1;
                int nh = Math.Min(HeadGroup, Math.Min(e, (t + 1) * H) - job);   // heads of token t left in the range
                if (batched && nh > 1 && Attention.Heads(q + (long)job * R, kvf, kvfT, kvPad, nKv, R, C, _kqScale, nh, scratch, lat + (long)job * C))
                {
                    job += nh;
                    continue;
                }
                // one token: the heads read the latent rows once together, not once per head
                if (!batched && nh > 1 && Attention.HeadsVecDot(q + (long)job * R, kvf, kvfT, kvPad, nKv, R, C, _kqScale, nh, scratch, lat + (long)job * C))
                {
                    job += nh;
                    continue;
                }
                Attention.Head(q + (long)job * R, kvf, kvfT, kvPad, nKv, R, C, _kqScale, batched, scratch, scratch + kvPad, lat + (long)job * C);
                job++;
            }
        }
    }

    /// <summary>Query heads of one token computed together by <see cref="Attention.Heads"/> (bounds the scratch per worker).</summary>
    private const int HeadGroup = 16;

    int IPagedModel.MaxBatchTokens => _maxBatch;

    PagedKvCache IPagedModel.CreatePagedCache(int numBlocks, int blockSize) =>
        new(DeepSeekConfig.NumLayers, numBlocks, blockSize, DeepSeekConfig.CacheRowDim, separateValues: false);

    void IPagedModel.ForwardPaged(PagedBatch batch, PagedKvCache cache, Span<float> logits)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(cache);
        int T = batch.TokenCount, vocab = Config.VocabSize;
        if (T == 0) throw new ArgumentException("no tokens to evaluate", nameof(batch));
        if (T > _maxBatch) throw new ArgumentException($"{T} tokens exceed the batch limit {_maxBatch}", nameof(batch));
        if (cache.KvDim != DeepSeekConfig.CacheRowDim || cache.HasValues) throw new ArgumentException("the cache was not created by this model", nameof(cache));
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
                _pgBatch = null;
            }
        }
    }

    /// <summary>
    /// <see cref="ForwardBatch"/> over the tokens of several sequences: per-token rope positions and cache slots, each
    /// sequence's rows converted into a region of its own, attention always in the batched order, and the last layer's
    /// FFN only for the rows whose logits are wanted.
    /// </summary>
    private void ForwardPagedCore(PagedBatch b, PagedKvCache cache, Span<float> logits)
    {
        var c = DeepSeekConfig;
        int T = b.TokenCount, E = c.EmbedDim, S = b.Sequences, bs = cache.BlockSize;
        int H = c.NumHeads, Dr = c.QkRopeDim, C = c.KvLoraRank, R = c.CacheRowDim;
        int half = Dr / 2;
        for (int t = 0; t < T; t++)
        {
            _tokenEmbd.DequantizeRow(b.Tokens[t], _x.AsSpan(t * E, E));
            _rope.Angles(b.Positions[t], _cos.AsSpan(t * half, half), _sin.AsSpan(t * half, half));
        }
        if (_pgRows.Length < S + 1) _pgRows = new int[Math.Max(S + 1, _pgRows.Length * 2)];
        int rows = 0, maxPad = 0;
        for (int s = 0; s < S; s++)
        {
            _pgRows[s] = rows;
            int pad = Pad64(b.SeqContext[s]);
            rows += pad;
            maxPad = Math.Max(maxPad, pad);
        }
        _pgRows[S] = rows;
        if (_kvf.Length < (long)rows * R) _kvf = new float[(long)rows * R * 5 / 4];
        if (_kvfT.Length < (long)rows * C) _kvfT = new float[(long)rows * C * 5 / 4];
        _pgBatch = b;
        _atPad = maxPad;
        for (int w = 0; w < _scores.Length; w++)
            if (_scores[w] is not { } sc || sc.Length < HeadGroup * (maxPad + R)) _scores[w] = new float[HeadGroup * (maxPad + R)];

        for (int l = 0; l < c.NumLayers; l++)
        {
            var L = _layers[l];
            ProjectQueryAndLatent(L, T);
            var kl = cache.K(l);
            for (int t = 0; t < T; t++)
            {
                int pos = b.Positions[t];
                long slot = (long)b.SeqBlocks[b.TokenSeq[t]][pos / bs] * bs + pos % bs;
                TensorPrimitives.ConvertToHalf(_kv.AsSpan(t * R, R), kl.AsSpan((int)(slot * R), R));
            }
            for (int s = 0; s < S; s++)
            {
                int n = b.SeqContext[s], pad = Pad64(n);
                var table = b.SeqBlocks[s];
                var kvf = _kvf.AsSpan(_pgRows[s] * R, n * R);
                for (int j0 = 0; j0 < n; j0 += bs)
                {
                    int cnt = Math.Min(bs, n - j0);
                    TensorPrimitives.ConvertToSingle(kl.AsSpan(table[j0 / bs] * bs * R, cnt * R), kvf.Slice(j0 * R, cnt * R));
                }
                fixed (float* src = kvf, dst = _kvfT.AsSpan(_pgRows[s] * C, pad * C)) Attention.Transpose(src, R, dst, pad, n, C);
                for (int d = 0; d < C; d++) _kvfT.AsSpan(_pgRows[s] * C + d * pad + n, pad - n).Clear();
            }

            AbsorbQuery(L, T);
            _atT = T;
            _pool.Run(_patBody);

            HeadMatMul(L.Vb, _lat, H * C, C, _att, H * c.VHeadDim, c.VHeadDim, T);
            MatMul(L.Wo, _att, T, _h);
            Add(_x, _h, T * E);

            int Tf = T;
            if (l == c.NumLayers - 1)
            {
                if (b.LogitRows == 0) return;
                for (int s = 0; s < S; s++)
                {
                    int r = b.SeqLogitRow[s];
                    if (r >= 0) _x.AsSpan((b.SeqStart[s] + b.SeqCount[s] - 1) * E, E).CopyTo(_x.AsSpan(r * E, E));   // r <= source row
                }
                Tf = b.LogitRows;
            }
            Ffn(L, Tf);
        }
        RmsNorm.ApplyRows(_x, _outputNorm, c.RmsEps, _h, b.LogitRows, E);
        fixed (float* y = logits) MatMul(_output, _h, b.LogitRows, y);
    }

    /// <summary>
    /// h = attn_norm(x) into _h, then q = q_b·rmsnorm(q_a·h) (or attn_q·h) into _q [T, H, Dk] = [q_nope | q_pe] per head,
    /// kv = kv_a_mqa·h into _kv [T, R] = [latent (C) | k_pe (Dr)]; RoPE on q_pe and k_pe, RMSNorm on the latent.
    /// </summary>
    private void ProjectQueryAndLatent(DeepSeek2Layer L, int T)
    {
        var c = DeepSeekConfig;
        int H = c.NumHeads, Dn = c.QkNopeDim, Dr = c.QkRopeDim, Dk = c.QkHeadDim, C = c.KvLoraRank, R = c.CacheRowDim, half = Dr / 2;
        RmsNorm.ApplyRows(_x, L.AttnNorm, c.RmsEps, _h, T, c.EmbedDim);
        if (L.Wq is not null)
        {
            MatMul(L.Wq, _h, T, _q);
        }
        else
        {
            MatMul(L.WqA!, _h, T, _qa);                               // [T, Q]
            RmsNorm.ApplyRows(_qa, L.QaNorm!, c.RmsEps, _qa, T, c.QLoraRank);
            MatMul(L.WqB!, _qa, T, _q);                               // [T, H*Dk]
        }
        MatMul(L.WkvA, _h, T, _kv);
        for (int t = 0; t < T; t++)
        {
            var cos = _cos.AsSpan(t * half, half);
            var sin = _sin.AsSpan(t * half, half);
            for (int h = 0; h < H; h++) _rope.Apply(_q.AsSpan(t * H * Dk + h * Dk + Dn, Dr), 1, Dr, cos, sin);
            _rope.Apply(_kv.AsSpan(t * R + C, Dr), 1, Dr, cos, sin);
            var lat = _kv.AsSpan(t * R, C);
            RmsNorm.Apply(lat, L.KvaNorm, c.RmsEps, lat);
        }
    }

    /// <summary>qcat[t, h] = [k_b[h]·q_nope[t, h] (C) | q_pe[t, h] (Dr)]: the query absorbed into latent space.</summary>
    private void AbsorbQuery(DeepSeek2Layer L, int T)
    {
        var c = DeepSeekConfig;
        int H = c.NumHeads, Dn = c.QkNopeDim, Dr = c.QkRopeDim, Dk = c.QkHeadDim, C = c.KvLoraRank, R = c.CacheRowDim;
        HeadMatMul(L.Kb, _q, H * Dk, Dk, _qcat, H * R, R, T);
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++)
                _q.AsSpan(t * H * Dk + h * Dk + Dn, Dr).CopyTo(_qcat.AsSpan((t * H + h) * R + C, Dr));
    }

    /// <summary>x[0..Tf) += FFN(rmsnorm(x)): routed + shared experts for MoE layers, SwiGLU for dense ones.</summary>
    private void Ffn(DeepSeek2Layer L, int Tf)
    {
        var c = DeepSeekConfig;
        int E = c.EmbedDim;
        RmsNorm.ApplyRows(_x, L.FfnNorm, c.RmsEps, _h, Tf, E);
        if (L.IsMoe) Moe(L, Tf);
        else
        {
            SwiGluFfn(L.Gate!, L.Up!, L.Down!, _h, Tf, _eOut);
            Add(_x, _eOut, Tf * E);
        }
    }

    /// <summary><see cref="AttentionWorker"/> for a paged batch: each token over its own sequence's region, always batched order.</summary>
    private void PagedAttentionWorker(int index, int count)
    {
        var c = DeepSeekConfig;
        var b = _pgBatch!;
        int H = c.NumHeads, C = c.KvLoraRank, R = c.CacheRowDim;
        var (s0, e0) = Attention.SplitCausal(b.Positions.AsSpan(0, _atT), H, _atT >= count ? Math.Min(HeadGroup, H) : 1, index, count);
        if (s0 >= e0) return;
        fixed (float* kvfAll = _kvf, kvfTAll = _kvfT, q = _qcat, lat = _lat, scratch = _scores[index])
        {
            for (int job = s0; job < e0;)
            {
                int t = job / H, s = b.TokenSeq[t];
                int nKv = b.Positions[t] + 1, kvPad = Pad64(b.SeqContext[s]);
                float* kvf = kvfAll + (long)_pgRows[s] * R, kvfT = kvfTAll + (long)_pgRows[s] * C;
                int nh = Math.Min(HeadGroup, Math.Min(e0, (t + 1) * H) - job);
                if (nh > 1 && Attention.Heads(q + (long)job * R, kvf, kvfT, kvPad, nKv, R, C, _kqScale, nh, scratch, lat + (long)job * C))
                {
                    job += nh;
                    continue;
                }
                Attention.Head(q + (long)job * R, kvf, kvfT, kvPad, nKv, R, C, _kqScale, batched: true, scratch, scratch + kvPad, lat + (long)job * C);
                job++;
            }
        }
    }

    private static int Pad64(int n) => (n + 63) / 64 * 64;

    private static void Add(float[] x, float[] y, int n) => TensorPrimitives.Add(x.AsSpan(0, n), y.AsSpan(0, n), x.AsSpan(0, n));

    /// <summary>Frees the repacked weights and disposes the worker pool if the model created it.</summary>
    public void Dispose()
    {
        GC.KeepAlive(_owned);
        foreach (var m in Matrices()) m.Dispose();
        if (_ownsPool) _pool.Dispose();
    }

    /// <summary>Every distinct weight matrix of the model and its MTP block.</summary>
    internal IEnumerable<WeightMatrix> Matrices()
    {
        var seen = new HashSet<WeightMatrix>(ReferenceEqualityComparer.Instance);
        IEnumerable<WeightMatrix?> All()
        {
            yield return _tokenEmbd;
            yield return _output;
            foreach (var L in _layers)
                foreach (var m in LayerMatrices(L)) yield return m;
            if (_mtp is { } mtp)
            {
                yield return mtp.EhProj; yield return mtp.Embed; yield return mtp.Head;
                foreach (var m in LayerMatrices(mtp.Block)) yield return m;
            }
        }
        foreach (var m in All())
            if (m is not null && seen.Add(m)) yield return m;
    }

    private static IEnumerable<WeightMatrix?> LayerMatrices(DeepSeek2Layer L)
    {
        yield return L.Wq; yield return L.WqA; yield return L.WqB; yield return L.WkvA; yield return L.Wo;
        yield return L.Gate; yield return L.Up; yield return L.Down;
        yield return L.GateInp; yield return L.GateShexp; yield return L.UpShexp; yield return L.DownShexp;
        foreach (var group in new[] { L.Kb, L.Vb, L.GateExps, L.UpExps, L.DownExps })
            if (group is not null)
                foreach (var m in group) yield return m;
    }
}
