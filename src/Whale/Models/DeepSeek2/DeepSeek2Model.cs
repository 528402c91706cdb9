using System.Numerics.Tensors;
using Whale.Gguf;
using Whale.Kernels;

namespace Whale.Models.DeepSeek2;

/// <summary>
/// The <c>deepseek2</c> forward pass (DeepSeek-V2, V2-Lite, V3, R1) as llama.cpp computes it: multi-head latent
/// attention in absorbed form over a cache of [normalized latent | rotated rope key] rows (C + Dr F16 values per token
/// per layer), leading dense FFN layers, then DeepSeekMoE layers (router, group-limited top-k, shared experts).
/// Shapes: T tokens in a micro-batch, E embed, H heads, Dn/Dr/Dk = Dn+Dr/Dv head parts, C kv_lora_rank,
/// R = C + Dr cache row, Q q_lora_rank, X experts, K experts per token, F dense ffn, Fe expert ffn, Fs shared ffn.
/// </summary>
public sealed unsafe class DeepSeek2Model : IModel
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
    private const long InlineWork = 1 << 16;     // multiply-adds below which a product is not split across workers

    // Workspace for _maxBatch tokens (no allocation per forward once warm).
    private readonly float[] _x, _h, _qa, _q, _kv, _qcat, _lat, _att, _ff1, _ff2, _moe, _slot, _eIn, _eOut;
    private readonly float[] _routerLogits, _routeW, _probs, _selScratch, _cos, _sin, _last;
    private readonly int[] _routeSel, _expCount, _expStart, _expTok;
    private float[] _kvf = [];                       // F32 copy of the layer's cache rows [n_kv, R]
    private readonly float[][] _scores, _hmIn, _hmOut;
    private readonly byte[][] _hmQx;
    private byte[] _qx = [];

    // Parallel matmul job.
    private WeightMatrix? _mmW;
    private int _mmBatch;
    private float* _mmY;
    private readonly Action<int, int> _mmBody;
    // Parallel per-head matmul job: dst[t, h] = W[h] · src[t, h].
    private WeightMatrix[]? _hmW;
    private float[]? _hmSrc, _hmDst;
    private int _hmT, _hmSrcStride, _hmSrcHead, _hmDstStride, _hmDstHead;
    private readonly Action<int, int> _hmBody;
    // Parallel attention job.
    private int _atT, _atStart, _atContext;
    private readonly Action<int, int> _atBody;

    /// <summary>Builds the model over the tensors of an open file (kept open by the caller).</summary>
    public DeepSeek2Model(GgufFile file, WorkerPool? pool = null, int maxBatch = 512)
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
        _owned = loader.OwnedBuffers;
        _rope = c.CreateRope();
        _kqScale = c.KqScale;
        bool anyMoe = c.LeadingDenseLayers < c.NumLayers;
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
        _hmIn = new float[workers][];
        _hmOut = new float[workers][];
        _hmQx = new byte[workers][];
        _mmBody = MatMulWorker;
        _hmBody = HeadMatMulWorker;
        _atBody = AttentionWorker;
    }

    /// <summary>The generic view of the config (one KV "head" of C + Dr values; AttentionScale is the MLA kq_scale).</summary>
    public ModelConfig Config { get; }

    /// <summary>The deepseek2 hyper-parameters.</summary>
    public DeepSeek2Config DeepSeekConfig { get; }

    /// <summary>A single-stream F16 cache: per layer and position one row [latent (C) | rope key (Dr)].</summary>
    public KvCache CreateCache(int contextSize) => KvCache.CreateSingleStream(DeepSeekConfig.NumLayers, contextSize, DeepSeekConfig.CacheRowDim);

    public void Forward(ReadOnlySpan<int> tokens, KvCache cache, Span<float> logits, bool allLogits = false)
    {
        ArgumentNullException.ThrowIfNull(cache);
        int n = tokens.Length, vocab = Config.VocabSize;
        if (n == 0) throw new ArgumentException("no tokens to evaluate", nameof(tokens));
        if (cache.KvDim != DeepSeekConfig.CacheRowDim || cache.Layers != DeepSeekConfig.NumLayers || cache.HasValues)
            throw new ArgumentException("the cache was not created by this model", nameof(cache));
        if (cache.Length + n > cache.ContextSize)
            throw new InvalidOperationException($"context is full: {cache.Length} + {n} tokens exceed the context size {cache.ContextSize}");
        if (logits.Length < (allLogits ? n * vocab : vocab)) throw new ArgumentException("logits buffer too small", nameof(logits));
        foreach (var t in tokens)
            if ((uint)t >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {t} is outside the vocabulary (0..{vocab - 1})");
        lock (_gate)
        {
            for (int start = 0; start < n; start += _maxBatch)
            {
                int count = Math.Min(_maxBatch, n - start);
                bool lastChunk = start + count == n;
                var outLogits = allLogits ? logits.Slice(start * vocab, count * vocab) : lastChunk ? logits[..vocab] : default;
                ForwardBatch(tokens.Slice(start, count), cache, outLogits, allLogits, lastChunk || allLogits);
            }
        }
    }

    private void ForwardBatch(ReadOnlySpan<int> tokens, KvCache cache, Span<float> logits, bool allLogits, bool wantLogits)
    {
        var c = DeepSeekConfig;
        int T = tokens.Length, E = c.EmbedDim, pos0 = cache.Length;
        int H = c.NumHeads, Dn = c.QkNopeDim, Dr = c.QkRopeDim, Dk = c.QkHeadDim, C = c.KvLoraRank, R = c.CacheRowDim;
        int half = Dr / 2;

        // x: [T, E] embeddings
        for (int t = 0; t < T; t++) _tokenEmbd.DequantizeRow(tokens[t], _x.AsSpan(t * E, E));
        for (int t = 0; t < T; t++) _rope.Angles(pos0 + t, _cos.AsSpan(t * half, half), _sin.AsSpan(t * half, half));
        int nKv = pos0 + T;
        if (_kvf.Length < nKv * R) _kvf = new float[Math.Max(nKv, Math.Min(cache.ContextSize, 2 * nKv)) * R];

        for (int l = 0; l < c.NumLayers; l++)
        {
            var L = _layers[l];
            RmsNorm.ApplyRows(_x, L.AttnNorm, c.RmsEps, _h, T, E);

            // q: [T, H, Dk] = [q_nope (Dn) | q_pe (Dr)] per head
            if (L.Wq is not null)
            {
                MatMul(L.Wq, _h, T, _q);
            }
            else
            {
                int Q = c.QLoraRank;
                MatMul(L.WqA!, _h, T, _qa);                           // [T, Q]
                RmsNorm.ApplyRows(_qa, L.QaNorm!, c.RmsEps, _qa, T, Q);
                MatMul(L.WqB!, _qa, T, _q);                           // [T, H*Dk]
            }
            // kv: [T, R] = [latent (C) | k_pe (Dr)]
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
            // the cache row is F16, as llama.cpp's default K cache type
            TensorPrimitives.ConvertToHalf(_kv.AsSpan(0, T * R), cache.K(l, pos0, T));
            TensorPrimitives.ConvertToSingle(cache.K(l, 0, nKv), _kvf.AsSpan(0, nKv * R));

            // absorbed query: qcat[t, h] = [k_b[h] · q_nope[t, h] (C) | q_pe[t, h] (Dr)]
            HeadMatMul(L.Kb, _q, H * Dk, Dk, _qcat, H * R, R, T);
            for (int t = 0; t < T; t++)
                for (int h = 0; h < H; h++)
                    _q.AsSpan(t * H * Dk + h * Dk + Dn, Dr).CopyTo(_qcat.AsSpan((t * H + h) * R + C, Dr));

            _atT = T; _atStart = pos0; _atContext = cache.ContextSize;
            if ((long)T * H * nKv * R < InlineWork) AttentionWorker(0, 1);   // lat: [T, H, C]
            else _pool.Run(_atBody);

            // per head value: att[t, h] = v_b[h] · lat[t, h] (Dv)
            HeadMatMul(L.Vb, _lat, H * C, C, _att, H * c.VHeadDim, c.VHeadDim, T);
            MatMul(L.Wo, _att, T, _h);                                // [T, E]
            Add(_x, _h, T * E);

            RmsNorm.ApplyRows(_x, L.FfnNorm, c.RmsEps, _h, T, E);
            if (L.IsMoe) Moe(L, T);
            else
            {
                SwiGluFfn(L.Gate!, L.Up!, L.Down!, _h, T, _eOut);
                Add(_x, _eOut, T * E);
            }
        }
        cache.Length = pos0 + T;
        if (!wantLogits) return;

        if (allLogits)
        {
            RmsNorm.ApplyRows(_x, _outputNorm, c.RmsEps, _h, T, E);
            fixed (float* y = logits) MatMul(_output, _h, T, y);
        }
        else
        {
            RmsNorm.Apply(_x.AsSpan((T - 1) * E, E), _outputNorm, c.RmsEps, _last);
            fixed (float* y = logits) MatMul(_output, _last, 1, y);
        }
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
            MatMul(L.GateExps![e], _eIn, n, _ff1);                    // [n, Fe]
            MatMul(L.UpExps![e], _eIn, n, _ff2);
            SwiGlu(_ff1.AsSpan(0, n * Fe), _ff2);
            MatMul(L.DownExps![e], _ff1, n, _eOut);
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
        SwiGlu(_ff1.AsSpan(0, T * gate.Rows), _ff2);
        MatMul(down, _ff1, T, y);
    }

    private void MatMul(WeightMatrix w, float[] x, int batch, float[] y)
    {
        fixed (float* py = y) MatMul(w, x, batch, py);
    }

    private void MatMul(WeightMatrix w, float[] x, int batch, float* y)
    {
        long need = w.ActivationRowBytes * batch;
        if (_qx.Length < need) _qx = new byte[need];
        w.ConvertActivations(x.AsSpan(0, batch * w.Cols), batch, _qx);
        _mmW = w; _mmBatch = batch; _mmY = y;
        // small products (tiny models, single-token decode of small experts) run inline: a pool barrier costs more
        if ((long)w.Rows * w.Cols * batch < InlineWork) MatMulWorker(0, 1);
        else _pool.Run(_mmBody);
        _mmW = null;
    }

    private void MatMulWorker(int index, int count)
    {
        var w = _mmW!;
        var (s, e) = WorkerPool.Split(w.Rows, index, count, 4);
        if (s >= e) return;
        w.MatMul(_qx.AsSpan(0, (int)(w.ActivationRowBytes * _mmBatch)), _mmBatch, new Span<float>(_mmY, _mmBatch * w.Rows), s, e);
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
            w.MatMul(qx.AsSpan(0, (int)(T * arb)), T, output.AsSpan(0, T * rows), 0, rows);
            for (int t = 0; t < T; t++) output.AsSpan(t * rows, rows).CopyTo(dst.AsSpan(t * _hmDstStride + h * _hmDstHead, rows));
        }
    }

    /// <summary>
    /// Absorbed MLA attention (MQA over the latent cache) for (token, head) pairs split across workers. As llama.cpp's
    /// non-flash path with an F16 cache: the 576-wide query is rounded to F16 for K·q, the softmax weights to F16 for
    /// V·p; V is the latent part of the cached row. lat[t, h] = sum_j p_j c_j.
    /// </summary>
    private void AttentionWorker(int index, int count)
    {
        var c = DeepSeekConfig;
        int H = c.NumHeads, C = c.KvLoraRank, R = c.CacheRowDim;
        var (s, e) = WorkerPool.Split(_atT * H, index, count);
        if (s >= e) return;
        int maxKv = _atStart + _atT;
        var scores = _scores[index] is { } sc && sc.Length >= maxKv ? sc : _scores[index] = new float[Math.Max(maxKv, _atContext)];
        Span<float> qh = R <= 2048 ? stackalloc float[R] : new float[R];
        var kvf = _kvf;
        for (int job = s; job < e; job++)
        {
            int t = job / H;
            int nKv = _atStart + t + 1;
            var q = _qcat.AsSpan(job * R, R);
            for (int d = 0; d < R; d++) qh[d] = (float)(Half)q[d];
            float max = float.NegativeInfinity;
            for (int j = 0; j < nKv; j++)
            {
                float v = TensorPrimitives.Dot(qh, kvf.AsSpan(j * R, R)) * _kqScale;
                scores[j] = v;
                if (v > max) max = v;
            }
            double sum = 0;
            for (int j = 0; j < nKv; j++) { float ex = MathF.Exp(scores[j] - max); scores[j] = ex; sum += ex; }
            float inv = (float)(1.0 / sum);
            var o = _lat.AsSpan(job * C, C);
            o.Clear();
            for (int j = 0; j < nKv; j++)
            {
                float p = (float)(Half)(scores[j] * inv);
                TensorPrimitives.MultiplyAdd(kvf.AsSpan(j * R, C), p, o, o);
            }
        }
    }

    private static void Add(float[] x, float[] y, int n)
    {
        for (int i = 0; i < n; i++) x[i] += y[i];
    }

    private static void SwiGlu(Span<float> gate, ReadOnlySpan<float> up)
    {
        for (int i = 0; i < gate.Length; i++)
        {
            float g = gate[i];
            gate[i] = g / (1.0f + MathF.Exp(-g)) * up[i];
        }
    }

    public void Dispose()
    {
        GC.KeepAlive(_owned);
        if (_ownsPool) _pool.Dispose();
    }
}
