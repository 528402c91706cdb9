using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Whale.Kernels.Quant;

namespace Whale.Kernels;

/// <summary>
/// Causal attention of one query head over the F16 cache, computed the way llama.cpp's non-flash CPU path does
/// (bit for bit): q rounded to F16; K·q and V·p as tinyBLAS 16-lane FMA chains for a batch of queries or as
/// ggml_vec_dot_f16 (4 x 16 lanes over 64-value steps) for one token; softmax with ggml's vector expf summed per
/// 16 lanes in double; weights rounded to F16. The SIMD path works on K rows and transposed V rows converted to
/// F32 once per layer (<see cref="ConvertRows"/>); <see cref="ReferenceHead"/> is the scalar definition.
/// </summary>
internal static unsafe class Attention
{
    private const int L = GgmlMath.Lanes;

    /// <summary>True when <see cref="Head"/> takes the AVX-512 path (else it calls <see cref="ReferenceHead"/> semantics).</summary>
    public static bool IsAccelerated => Avx512F.IsSupported;

    /// <summary>Cache positions rounded up to 64 (the V·p length).</summary>
    public static int Padded(int n) => (n + 63) / 64 * 64;

    /// <summary>
    /// Converts cache rows [j0, j1) of every kv head: K to <paramref name="kf"/>[kvh][j][D] (stride
    /// <paramref name="rowsCap"/> rows per head), V transposed to <paramref name="vt"/>[kvh][d][j] (stride
    /// <paramref name="rowsCap"/> per d, D rows per head).
    /// </summary>
    public static void ConvertRows(Half* k, Half* v, int kvHeads, int headDim, int j0, int j1, float* kf, float* vt, int rowsCap)
    {
        const int Block = 16;
        int kvDim = kvHeads * headDim;
        // V rows of a block of 16 positions converted to F32 first, then transposed 8 positions per gather
        bool gather = Avx2.IsSupported && kvDim <= 1024;
        float* rows = stackalloc float[gather ? Block * kvDim : 0];
        var index = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * kvDim;
        for (int jb = j0; jb < j1; jb += Block)
        {
            int m = Math.Min(Block, j1 - jb);
            for (int j = jb; j < jb + m; j++)
            {
                ushort* kr = (ushort*)k + (long)j * kvDim;
                for (int h = 0; h < kvHeads; h++) Fp16.ToFloat(kr + h * headDim, kf + ((long)h * rowsCap + j) * headDim, headDim);
            }
            if (gather && m == Block)
            {
                Fp16.ToFloat((ushort*)v + (long)jb * kvDim, rows, Block * kvDim);
                // vt[h][d][j] = vt[(h·D + d) · rowsCap + j]: column c of the block is 16 consecutive positions of row c
                for (int c = 0; c < kvDim; c++)
                {
                    float* col = vt + (long)c * rowsCap + jb;
                    Avx2.GatherVector256(rows + c, index, 4).Store(col);
                    Avx2.GatherVector256(rows + 8 * kvDim + c, index, 4).Store(col + 8);
                }
                continue;
            }
            for (int j = jb; j < jb + m; j++)
            {
                ushort* vr = (ushort*)v + (long)j * kvDim;
                for (int c = 0; c < kvDim; c++) vt[(long)c * rowsCap + j] = Fp16.ToFloat(vr[c]);
            }
        }
    }

    /// <summary>
    /// dst[c · dstStride + r] = src[r · srcStride + c] for r &lt; rows, c &lt; cols: 16 x 16 blocks through registers with
    /// AVX-512 (unpacks and 128-bit lane shuffles, 64 operations per 256 values), the edges one value at a time. For
    /// deepseek2's latent rows (was one scalar copy per value: V2-Lite tg16 @ d4096 11.2-13.2 -> 12.8-14.6 t/s);
    /// <see cref="ConvertRows"/> keeps its gathers (this measured no faster there: 7.4-8.0 vs 7.3-7.9 t/s on the 1.5B shape).
    /// </summary>
    public static void Transpose(float* src, long srcStride, float* dst, long dstStride, int rows, int cols)
    {
        int r16 = Avx512F.IsSupported ? rows & ~15 : 0, c16 = Avx512F.IsSupported ? cols & ~15 : 0;
        for (int r0 = 0; r0 < r16; r0 += 16)
            for (int c0 = 0; c0 < c16; c0 += 16)
                Transpose16(src + r0 * srcStride + c0, srcStride, dst + c0 * dstStride + r0, dstStride);
        for (int r = 0; r < rows; r++)
            for (int c = r < r16 ? c16 : 0; c < cols; c++)
                dst[c * dstStride + r] = src[r * srcStride + c];
    }

    /// <summary>One 16 x 16 block of <see cref="Transpose"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16(float* s, long ss, float* d, long ds)
    {
        var r0 = Vector512.Load(s); var r1 = Vector512.Load(s + ss); var r2 = Vector512.Load(s + 2 * ss); var r3 = Vector512.Load(s + 3 * ss);
        var r4 = Vector512.Load(s + 4 * ss); var r5 = Vector512.Load(s + 5 * ss); var r6 = Vector512.Load(s + 6 * ss); var r7 = Vector512.Load(s + 7 * ss);
        var r8 = Vector512.Load(s + 8 * ss); var r9 = Vector512.Load(s + 9 * ss); var r10 = Vector512.Load(s + 10 * ss); var r11 = Vector512.Load(s + 11 * ss);
        var r12 = Vector512.Load(s + 12 * ss); var r13 = Vector512.Load(s + 13 * ss); var r14 = Vector512.Load(s + 14 * ss); var r15 = Vector512.Load(s + 15 * ss);
        // pairs of rows interleaved by element, then by element pair: each 128-bit lane holds a 4 x 4 block
        var t0 = Avx512F.UnpackLow(r0, r1); var t1 = Avx512F.UnpackHigh(r0, r1); var t2 = Avx512F.UnpackLow(r2, r3); var t3 = Avx512F.UnpackHigh(r2, r3);
        var t4 = Avx512F.UnpackLow(r4, r5); var t5 = Avx512F.UnpackHigh(r4, r5); var t6 = Avx512F.UnpackLow(r6, r7); var t7 = Avx512F.UnpackHigh(r6, r7);
        var t8 = Avx512F.UnpackLow(r8, r9); var t9 = Avx512F.UnpackHigh(r8, r9); var t10 = Avx512F.UnpackLow(r10, r11); var t11 = Avx512F.UnpackHigh(r10, r11);
        var t12 = Avx512F.UnpackLow(r12, r13); var t13 = Avx512F.UnpackHigh(r12, r13); var t14 = Avx512F.UnpackLow(r14, r15); var t15 = Avx512F.UnpackHigh(r14, r15);
        r0 = PairLow(t0, t2); r1 = PairHigh(t0, t2); r2 = PairLow(t1, t3); r3 = PairHigh(t1, t3);
        r4 = PairLow(t4, t6); r5 = PairHigh(t4, t6); r6 = PairLow(t5, t7); r7 = PairHigh(t5, t7);
        r8 = PairLow(t8, t10); r9 = PairHigh(t8, t10); r10 = PairLow(t9, t11); r11 = PairHigh(t9, t11);
        r12 = PairLow(t12, t14); r13 = PairHigh(t12, t14); r14 = PairLow(t13, t15); r15 = PairHigh(t13, t15);
        // then the 4 x 4 blocks moved across 128-bit lanes in two rounds
        t0 = Avx512F.Shuffle4x128(r0, r4, 0x88); t1 = Avx512F.Shuffle4x128(r1, r5, 0x88); t2 = Avx512F.Shuffle4x128(r2, r6, 0x88); t3 = Avx512F.Shuffle4x128(r3, r7, 0x88);
        t4 = Avx512F.Shuffle4x128(r0, r4, 0xDD); t5 = Avx512F.Shuffle4x128(r1, r5, 0xDD); t6 = Avx512F.Shuffle4x128(r2, r6, 0xDD); t7 = Avx512F.Shuffle4x128(r3, r7, 0xDD);
        t8 = Avx512F.Shuffle4x128(r8, r12, 0x88); t9 = Avx512F.Shuffle4x128(r9, r13, 0x88); t10 = Avx512F.Shuffle4x128(r10, r14, 0x88); t11 = Avx512F.Shuffle4x128(r11, r15, 0x88);
        t12 = Avx512F.Shuffle4x128(r8, r12, 0xDD); t13 = Avx512F.Shuffle4x128(r9, r13, 0xDD); t14 = Avx512F.Shuffle4x128(r10, r14, 0xDD); t15 = Avx512F.Shuffle4x128(r11, r15, 0xDD);
        Avx512F.Shuffle4x128(t0, t8, 0x88).Store(d); Avx512F.Shuffle4x128(t1, t9, 0x88).Store(d + ds);
        Avx512F.Shuffle4x128(t2, t10, 0x88).Store(d + 2 * ds); Avx512F.Shuffle4x128(t3, t11, 0x88).Store(d + 3 * ds);
        Avx512F.Shuffle4x128(t4, t12, 0x88).Store(d + 4 * ds); Avx512F.Shuffle4x128(t5, t13, 0x88).Store(d + 5 * ds);
        Avx512F.Shuffle4x128(t6, t14, 0x88).Store(d + 6 * ds); Avx512F.Shuffle4x128(t7, t15, 0x88).Store(d + 7 * ds);
        Avx512F.Shuffle4x128(t0, t8, 0xDD).Store(d + 8 * ds); Avx512F.Shuffle4x128(t1, t9, 0xDD).Store(d + 9 * ds);
        Avx512F.Shuffle4x128(t2, t10, 0xDD).Store(d + 10 * ds); Avx512F.Shuffle4x128(t3, t11, 0xDD).Store(d + 11 * ds);
        Avx512F.Shuffle4x128(t4, t12, 0xDD).Store(d + 12 * ds); Avx512F.Shuffle4x128(t5, t13, 0xDD).Store(d + 13 * ds);
        Avx512F.Shuffle4x128(t6, t14, 0xDD).Store(d + 14 * ds); Avx512F.Shuffle4x128(t7, t15, 0xDD).Store(d + 15 * ds);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> PairLow(Vector512<float> a, Vector512<float> b) => Avx512F.UnpackLow(a.AsDouble(), b.AsDouble()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> PairHigh(Vector512<float> a, Vector512<float> b) => Avx512F.UnpackHigh(a.AsDouble(), b.AsDouble()).AsSingle();

    /// <summary>Fixed cost of one (token, head) pair in <see cref="SplitCausal"/>, in cache positions (q rounding, output, calls).</summary>
    private const int PairCost = 64;

    /// <summary>
    /// Jobs [start, end) of worker <paramref name="index"/> of <paramref name="count"/> when the (token, head) pairs of a
    /// batch, token-major (job = t · heads + h), are split by cost rather than by count: a pair of token t reads
    /// positions[t] + 1 cache rows, so under causal attention later tokens cost more and an even split by count gives
    /// the last worker most of the work. Boundaries fall on multiples of <paramref name="group"/> heads (a GQA group,
    /// which <see cref="Heads"/> computes together; callers pass 1 when there are fewer tokens than workers, so the heads
    /// of a decode step still spread) and every job goes to exactly one worker.
    /// </summary>
    public static (int start, int end) SplitCausal(ReadOnlySpan<int> positions, int heads, int group, int index, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(group, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if ((uint)index >= (uint)count) throw new ArgumentOutOfRangeException(nameof(index));
        long total = 0;
        foreach (int p in positions) total += (p + 1L + PairCost) * heads;
        return (Boundary(positions, heads, group, total * index / count), Boundary(positions, heads, group, total * (index + 1) / count));
    }

    /// <summary>The first job whose preceding jobs cost at least <paramref name="target"/> (rounded up to a group boundary).</summary>
    private static int Boundary(ReadOnlySpan<int> positions, int heads, int group, long target)
    {
        long before = 0;
        for (int t = 0; t < positions.Length; t++)
        {
            long w = positions[t] + 1L + PairCost, tokenCost = w * heads;
            if (before + tokenCost >= target)
            {
                long h = target <= before ? 0 : (target - before + w - 1) / w;
                h = (h + group - 1) / group * group;
                return h >= heads ? (t + 1) * heads : t * heads + (int)h;
            }
            before += tokenCost;
        }
        return positions.Length * heads;
    }

    /// <summary>Zeroes V columns [n, nPad) of every kv head (the padding V·p reads).</summary>
    public static void ClearPadding(int kvHeads, int headDim, int n, int nPad, float* vt, int rowsCap)
    {
        if (nPad <= n) return;
        for (int r = 0; r < kvHeads * headDim; r++)
            new Span<float>(vt + (long)r * rowsCap + n, nPad - n).Clear();
    }

    /// <summary>
    /// o = softmax(scale · K·q) · V for one query head over cache positions [0, nKv); <paramref name="kf"/> (rows of
    /// headDim) and <paramref name="vt"/> (valueDim rows of <paramref name="rowsCap"/>, V transposed) point at this
    /// head's kv head (see <see cref="ConvertRows"/>). valueDim = headDim for multi-head/GQA attention; absorbed MLA
    /// reads the latent part of its cached rows as V (valueDim = C &lt; headDim = C + Dr). Scratch: scores
    /// (Padded(nKv) floats), qh (headDim floats).
    /// </summary>
    public static void Head(float* q, float* kf, float* vt, int rowsCap, int nKv, int headDim, int valueDim, float scale,
        bool batched, float* scores, float* qh, float* o)
    {
        int D = headDim, nPad = Padded(nKv);
        RoundToHalf(q, qh, D);
        bool chainKq = batched && D % L == 0;
        bool simd = Avx512F.IsSupported;
        float max = float.NegativeInfinity;
        int j0 = 0;
        if (simd && !chainKq && D % 64 == 0)
        {
            j0 = nKv & ~15;
            max = ScoresVecDot(kf, qh, j0, D, scale, scores);
        }
        for (int j = j0; j < nKv; j++)
        {
            float* kr = kf + (long)j * D;
            float dot = !simd ? (chainKq ? GgmlMath.ChainDot16(new(kr, D), new(qh, D)) : GgmlMath.VecDot64(new(kr, D), new(qh, D)))
                : chainKq ? VecDot.ChainF32(kr, qh, D) : VecDot.F32(kr, qh, D);
            float sc = dot * scale;
            scores[j] = sc;
            if (sc > max) max = sc;
        }
        if (simd)
        {
            SoftmaxSimd(scores, nKv, nPad, max);
            for (int d = 0; d < valueDim; d++)
                o[d] = batched ? VecDot.ChainF32(vt + (long)d * rowsCap, scores, nPad) : VecDot.F32(vt + (long)d * rowsCap, scores, nPad);
            return;
        }
        GgmlMath.SoftmaxToF16(new Span<float>(scores, nPad), nKv, nPad, max);
        var p = new ReadOnlySpan<float>(scores, nPad);
        for (int d = 0; d < valueDim; d++)
        {
            var col = new ReadOnlySpan<float>(vt + (long)d * rowsCap, nPad);
            o[d] = batched ? GgmlMath.ChainDot16(col, p) : GgmlMath.VecDot64(col, p);
        }
    }

    /// <summary>Positions of K rows scored per block by <see cref="HeadsVecDot"/> (64 rows of 128 floats, 32 KB, stay in L1 for every head).</summary>
    private const int ScoreBlock = 64;

    /// <summary>
    /// <see cref="Head"/> in one-token order (batched = false) for <paramref name="nh"/> query heads that read the same
    /// K/V (a GQA group), bit-identical to calling it per head, but reading the group's K rows and transposed V rows
    /// once instead of once per head: scores in blocks of <see cref="ScoreBlock"/> positions (the block stays in L1
    /// while every head scores it, <see cref="ScoresVecDot"/>), then each V row against up to three heads' weights at a
    /// time (<see cref="WeightedRows{TC}"/>). Scratch: nh × (Padded(nKv) + headDim) floats. Returns false, writing
    /// nothing, without AVX-512 or when headDim is not a multiple of 64 (use <see cref="Head"/>).
    /// </summary>
    public static bool HeadsVecDot(float* q, float* kf, float* vt, int rowsCap, int nKv, int headDim, int valueDim, float scale,
        int nh, float* scratch, float* o)
    {
        int D = headDim, nPad = Padded(nKv);
        if (!Avx512F.IsSupported || D % 64 != 0 || nh < 1) return false;
        float* sc = scratch, qh = scratch + (long)nh * nPad;
        RoundToHalf(q, qh, nh * D);
        float* max = stackalloc float[nh];
        for (int h = 0; h < nh; h++) max[h] = float.NegativeInfinity;
        int n16 = nKv & ~15;
        for (int j0 = 0; j0 < n16; j0 += ScoreBlock)
        {
            int m = Math.Min(ScoreBlock, n16 - j0);
            for (int h = 0; h < nh; h++)
            {
                float b = ScoresVecDot(kf + (long)j0 * D, qh + h * D, m, D, scale, sc + (long)h * nPad + j0);
                if (b > max[h]) max[h] = b;
            }
        }
        for (int h = 0; h < nh; h++)
        {
            float* row = sc + (long)h * nPad;
            for (int j = n16; j < nKv; j++)
            {
                float v = VecDot.F32(kf + (long)j * D, qh + h * D, D) * scale;
                row[j] = v;
                if (v > max[h]) max[h] = v;
            }
            SoftmaxSimd(row, nKv, nPad, max[h]);
        }
        int k = 0;
        for (; k + 3 <= nh; k += 3) WeightedRows<TileCount.Three>(vt, rowsCap, nPad, valueDim, sc + (long)k * nPad, o + (long)k * valueDim);
        if (nh - k == 2) WeightedRows<TileCount.Two>(vt, rowsCap, nPad, valueDim, sc + (long)k * nPad, o + (long)k * valueDim);
        else if (nh - k == 1) WeightedRows<TileCount.One>(vt, rowsCap, nPad, valueDim, sc + (long)k * nPad, o + (long)k * valueDim);
        return true;
    }

    /// <summary>
    /// o_h[d] = VecDot.F32(transposed V row d, p_h, nPad) for TC.N heads (weights p_h at p + h · nPad, outputs at
    /// o + h · valueDim), each V row loaded once for all of them; each output is VecDot.F32's four chains, added and
    /// reduced as it does (nPad is a multiple of 64).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightedRows<TC>(float* vt, int rowsCap, int nPad, int valueDim, float* p, float* o)
        where TC : struct, TileCount.ICount
    {
        float* p1 = p + nPad, p2 = p + 2L * nPad;
        for (int d = 0; d < valueDim; d++)
        {
            float* v = vt + (long)d * rowsCap;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
            Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
            for (int i = 0; i < nPad; i += 64)
            {
                var v0 = Vector512.Load(v + i); var v1 = Vector512.Load(v + i + 16);
                var v2 = Vector512.Load(v + i + 32); var v3 = Vector512.Load(v + i + 48);
                a0 = Avx512F.FusedMultiplyAdd(v0, Vector512.Load(p + i), a0);
                a1 = Avx512F.FusedMultiplyAdd(v1, Vector512.Load(p + i + 16), a1);
                a2 = Avx512F.FusedMultiplyAdd(v2, Vector512.Load(p + i + 32), a2);
                a3 = Avx512F.FusedMultiplyAdd(v3, Vector512.Load(p + i + 48), a3);
                if (TC.N > 1)
                {
                    b0 = Avx512F.FusedMultiplyAdd(v0, Vector512.Load(p1 + i), b0);
                    b1 = Avx512F.FusedMultiplyAdd(v1, Vector512.Load(p1 + i + 16), b1);
                    b2 = Avx512F.FusedMultiplyAdd(v2, Vector512.Load(p1 + i + 32), b2);
                    b3 = Avx512F.FusedMultiplyAdd(v3, Vector512.Load(p1 + i + 48), b3);
                }
                if (TC.N > 2)
                {
                    c0 = Avx512F.FusedMultiplyAdd(v0, Vector512.Load(p2 + i), c0);
                    c1 = Avx512F.FusedMultiplyAdd(v1, Vector512.Load(p2 + i + 16), c1);
                    c2 = Avx512F.FusedMultiplyAdd(v2, Vector512.Load(p2 + i + 32), c2);
                    c3 = Avx512F.FusedMultiplyAdd(v3, Vector512.Load(p2 + i + 48), c3);
                }
            }
            o[d] = HSum((a0 + a2) + (a1 + a3));
            if (TC.N > 1) o[valueDim + d] = HSum((b0 + b2) + (b1 + b3));
            if (TC.N > 2) o[2 * valueDim + d] = HSum((c0 + c2) + (c1 + c3));
        }
    }

    /// <summary>
    /// scores[j] = scale · VecDot.F32(K row j, qh) for j &lt; n (a multiple of 16; headDim a multiple of 64), 16
    /// positions at a time: each position's four 16-lane chains added as VecDot.F32 adds them, then the 16 horizontal
    /// sums in one <see cref="TileFloat.Reduce16"/> (HSum's pairing, so every score is bit-identical). Returns the
    /// largest score (NaNs ignored, as <see cref="ScaleMax"/>).
    /// </summary>
    private static float ScoresVecDot(float* kf, float* qh, int n, int headDim, float scale, float* scores)
    {
        var vs = Vector512.Create(scale);
        var vmax = Vector512.Create(float.NegativeInfinity);
        for (int j = 0; j < n; j += L)
        {
            float* k = kf + (long)j * headDim;
            int D = headDim;
            // lane 4g + m of Reduce16's result is the sum of its argument 4m + g: pass position 4g + m there
            var r = TileFloat.Reduce16(
                Chains(k, qh, D), Chains(k + 4 * D, qh, D), Chains(k + 8 * D, qh, D), Chains(k + 12 * D, qh, D),
                Chains(k + D, qh, D), Chains(k + 5 * D, qh, D), Chains(k + 9 * D, qh, D), Chains(k + 13 * D, qh, D),
                Chains(k + 2 * D, qh, D), Chains(k + 6 * D, qh, D), Chains(k + 10 * D, qh, D), Chains(k + 14 * D, qh, D),
                Chains(k + 3 * D, qh, D), Chains(k + 7 * D, qh, D), Chains(k + 11 * D, qh, D), Chains(k + 15 * D, qh, D));
            var sc = r * vs;
            sc.Store(scores + j);
            vmax = Avx512F.Max(sc, vmax);
        }
        return LaneMax(vmax);
    }

    /// <summary>VecDot.F32's four chains of x·y over n (a multiple of 64) values, added as it adds them: (a0 + a2) + (a1 + a3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Chains(float* x, float* y, int n)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int i = 0; i < n; i += 64)
        {
            a0 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + i), Vector512.Load(y + i), a0);
            a1 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + i + 16), Vector512.Load(y + i + 16), a1);
            a2 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + i + 32), Vector512.Load(y + i + 32), a2);
            a3 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + i + 48), Vector512.Load(y + i + 48), a3);
        }
        return (a0 + a2) + (a1 + a3);
    }

    /// <summary>The scalar definition (the original implementation) over the F16 cache rows of kv head <paramref name="kvh"/>.</summary>
    public static void ReferenceHead(ReadOnlySpan<float> q, ReadOnlySpan<Half> kAll, ReadOnlySpan<Half> vAll, int kvDim, int kvh,
        int headDim, int nKv, float scale, bool batched, Span<float> o)
    {
        int D = headDim, nPad = Padded(nKv);
        bool chainKq = batched && D % L == 0;
        var scores = new float[nPad];
        var column = new float[nPad];
        var qh = new float[D];
        var kr = new float[D];
        Span<float> acc = stackalloc float[L];
        for (int d = 0; d < D; d++) qh[d] = (float)(Half)q[d];
        float max = float.NegativeInfinity;
        for (int j = 0; j < nKv; j++)
        {
            var kh = kAll.Slice(j * kvDim + kvh * D, D);
            for (int d = 0; d < D; d++) kr[d] = (float)kh[d];
            float dot = chainKq ? GgmlMath.ChainDot16(kr, qh) : GgmlMath.VecDot64(kr, qh);
            float sc = dot * scale;
            scores[j] = sc;
            if (sc > max) max = sc;
        }
        GgmlMath.SoftmaxToF16(scores, nKv, nPad, max);
        for (int d = 0; d < D; d++)
        {
            for (int j = 0; j < nKv; j++) column[j] = (float)vAll[j * kvDim + kvh * D + d];
            o[d] = batched ? GgmlMath.ChainDot16(column, scores) : GgmlMath.VecDot64(column, scores);
        }
    }

    /// <summary>ggml_v_expf (AVX-512 form): 2^n · p(b) with vscalefps; |n| &gt; 192 gives 0 or +inf.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var r = Vector512.Create(BitConverter.UInt32BitsToSingle(0x4b400000));
        var z = Avx512F.FusedMultiplyAdd(x, Vector512.Create(BitConverter.UInt32BitsToSingle(0x3fb8aa3b)), r);
        var n = z - r;
        var b = Avx512F.FusedMultiplyAddNegated(n, Vector512.Create(BitConverter.UInt32BitsToSingle(0x35bfbe8e)),
            Avx512F.FusedMultiplyAddNegated(n, Vector512.Create(BitConverter.UInt32BitsToSingle(0x3f317200)), x));
        var u = b * b;
        var j = Avx512F.FusedMultiplyAdd(
            Avx512F.FusedMultiplyAdd(
                Avx512F.FusedMultiplyAdd(Vector512.Create(BitConverter.UInt32BitsToSingle(0x3c072010)), b, Vector512.Create(BitConverter.UInt32BitsToSingle(0x3d2b9f17))),
                u,
                Avx512F.FusedMultiplyAdd(Vector512.Create(BitConverter.UInt32BitsToSingle(0x3e2aaf33)), b, Vector512.Create(BitConverter.UInt32BitsToSingle(0x3efffedb)))),
            u,
            Avx512F.FusedMultiplyAdd(Vector512.Create(BitConverter.UInt32BitsToSingle(0x3f7ffff6)), b, Vector512<float>.One));
        var res = Avx512F.Scale(j, n);
        var big = Vector512.GreaterThan(Vector512.Abs(n), Vector512.Create(192f));
        if (big == Vector512<float>.Zero) return res;
        var alt = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(n, Vector512<float>.Zero), Vector512<float>.Zero, Vector512.Create(float.PositiveInfinity));
        return Vector512.ConditionalSelect(big, alt, res);
    }

    /// <summary>Rounds non-negative finite floats below 65520 to the nearest F16 value (ties to even), as (float)(Half)x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> RoundToHalf(Vector512<float> x)
    {
        var bits = x.AsUInt32();
        var normal = ((bits + Vector512.Create(0xFFFu) + ((bits >>> 13) & Vector512<uint>.One)) & Vector512.Create(~0x1FFFu)).AsSingle();
        var half = Vector512.Create(0.5f);
        var sub = (x + half) - half;   // below 2^-14 the F16 step is 2^-24, the ulp of [0.5, 1)
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(6.103515625e-05f)), sub, normal);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HSum(Vector512<float> v)
    {
        var s8 = v.GetLower() + v.GetUpper();
        var s = s8.GetLower() + s8.GetUpper();
        return (s.GetElement(0) + s.GetElement(2)) + (s.GetElement(1) + s.GetElement(3));
    }

    /// <summary>
    /// The AVX-512 softmax of <see cref="Head"/>: exp(score − max) with ggml's vector expf, summed per 16 lanes in
    /// double, normalised and rounded to F16; positions [nKv, nPad) become 0.
    /// </summary>
    private static void SoftmaxSimd(float* scores, int nKv, int nPad, float max)
    {
        double sum = 0;
        var vmax = Vector512.Create(max);
        for (int j0 = 0; j0 < nPad; j0 += L)
        {
            Vector512<float> ex;
            if (j0 + L <= nKv) ex = Exp(Vector512.Load(scores + j0) - vmax);
            else
            {
                var idx = Vector512.Create(j0) + Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
                var valid = Vector512.LessThan(idx, Vector512.Create(nKv)).AsSingle();
                // lanes past nKv hold stale values: zero them before exp, and the results after
                var s = Vector512.ConditionalSelect(valid, Vector512.Load(scores + j0), vmax);
                ex = Vector512.ConditionalSelect(valid, Exp(s - vmax), Vector512<float>.Zero);
            }
            ex.Store(scores + j0);
            sum += HSum(ex);
        }
        var inv = Vector512.Create((float)(1.0 / sum));
        for (int j = 0; j < nPad; j += L) RoundToHalf(Vector512.Load(scores + j) * inv).Store(scores + j);
    }

    /// <summary>
    /// <see cref="Head"/> in batch order for <paramref name="nh"/> query heads that read the same K/V (a GQA group, or
    /// all heads of a token under absorbed MLA), as two F32 tile products: the scores of all nh heads (K rows as the
    /// weight rows), then their outputs (transposed V rows as the weight rows). Every output is the same 16-lane chain
    /// as <see cref="Head"/> computes per head, so results are bit-identical. q: nh rows of headDim floats; o: nh rows
    /// of valueDim; scratch: nh × (Padded(nKv) + headDim) floats. Returns false, writing nothing, when this machine
    /// has no AVX-512 tile kernel or headDim is not a multiple of 16 (use <see cref="Head"/>).
    /// </summary>
    public static bool Heads(float* q, float* kf, float* vt, int rowsCap, int nKv, int headDim, int valueDim, float scale,
        int nh, float* scratch, float* o)
    {
        int D = headDim, nPad = Padded(nKv);
        if (!Avx512F.IsSupported || D % L != 0 || !Tiles.IsAvailable(TileIsa.Avx512)) return false;
        float* sc = scratch, qh = scratch + (long)nh * nPad;
        RoundToHalf(q, qh, nh * D);
        if (!Tiles.TryMatMul(Gguf.GgmlType.F32, (byte*)kf, D * 4L, 0, nKv, (byte*)qh, D * 4L, nh, D, sc, nPad, batchOrder: true))
            return false;
        for (int k = 0; k < nh; k++)
        {
            float* row = sc + (long)k * nPad;
            SoftmaxSimd(row, nKv, nPad, ScaleMax(row, nKv, scale));
        }
        return Tiles.TryMatMul(Gguf.GgmlType.F32, (byte*)vt, rowsCap * 4L, 0, valueDim, (byte*)sc, nPad * 4L, nh, nPad, o, valueDim,
            batchOrder: true);
    }

    /// <summary>
    /// row[j] *= scale for j &lt; n; returns the largest product (NaN products ignored, as the scalar
    /// <c>if (v &gt; max)</c> loop does: vmaxps returns its second operand when either is NaN).
    /// </summary>
    private static float ScaleMax(float* row, int n, float scale)
    {
        var vs = Vector512.Create(scale);
        var vmax = Vector512.Create(float.NegativeInfinity);
        int j = 0;
        for (; j + L <= n; j += L)
        {
            var v = Vector512.Load(row + j) * vs;
            v.Store(row + j);
            vmax = Avx512F.Max(v, vmax);
        }
        float max = LaneMax(vmax);
        for (; j < n; j++)
        {
            float v = row[j] * scale;
            row[j] = v;
            if (v > max) max = v;
        }
        return max;
    }

    /// <summary>The largest lane of per-lane maxima (NaN lanes ignored, as the scalar <c>if (v &gt; max)</c> loop).</summary>
    private static float LaneMax(Vector512<float> vmax)
    {
        float max = float.NegativeInfinity;
        for (int l = 0; l < L; l++)
        {
            float m = vmax.GetElement(l);
            if (m > max) max = m;
        }
        return max;
    }

    /// <summary>dst[i] = (float)(Half)src[i] (round to nearest even F16, as llama.cpp stores q for the F16 K·q), vectorized.</summary>
    public static void RoundToHalf(float* src, float* dst, int n)
    {
        const int Chunk = 256;
        Half* tmp = stackalloc Half[Chunk];
        for (int i = 0; i < n; i += Chunk)
        {
            int m = Math.Min(Chunk, n - i);
            System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(new ReadOnlySpan<float>(src + i, m), new Span<Half>(tmp, m));
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(tmp, m), new Span<float>(dst + i, m));
        }
    }
}
