using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

/// <summary>
/// Products with one activation row (decode) for Q4_K/Q5_K/Q6_K × Q8_K, and with 2-4 rows for Q4_K/Q5_K
/// (<see cref="TryMatMulSmall"/>), bit-identical to the row dots <see cref="VecDot.Q4_KQ8_K"/>,
/// <see cref="VecDot.Q5_KQ8_K"/> and <see cref="VecDot.Q6_KQ8_K"/>.
/// </summary>
/// <remarks>
/// Four weight rows per pass: per super-block the activation's quants, its 32-value sums (from the Q8_K bsums)
/// and, for Q6_K, its −32 offset products are formed once and shared by the four rows, whose work is independent
/// so the core overlaps it. The int32 lane sums are exact, so they may be formed differently from the row dot
/// (u8·s8 pairs with vpmaddubsw, then the 6-bit/8-bit scales applied to the 16-bit pairs with vpmaddwd or AVX-VNNI
/// vpdpwssd, instead of vpdpbusd + vpmulld); each lane holds the same four values as in the row dot. The float
/// steps are the row dot's own: per super-block acc8 = fma(yD·xD, (float)sumi8, acc8) [Q4_K: accM =
/// fma(−yD·xDmin, (float)prod4, accM); Q5_K: summs = fma(−yD·xDmin, Σ prod4, summs)], then hsum_float_8(acc8)
/// [+ hsum(accM) | + summs]. Rows left over after the groups of four run the row dot itself. Weights are
/// prefetched ahead (<see cref="PrefetchStep"/>). No allocation.
/// </remarks>
internal static unsafe class GemvKQuants
{
    /// <summary>True when this machine runs these kernels (AVX2 + FMA); otherwise callers use the row dots.</summary>
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    private const int Rows = 4;

    /// <summary>Prefetch distance, in bytes, of the rows of a pass (<see cref="PrefetchStep"/>).</summary>
    private const int RowAhead = 512;

    /// <summary>Prefetch distance, in bytes, of the linear stream of short rows (<see cref="PrefetchStep"/>).</summary>
    private const int StreamAhead = 4096;

    /// <summary>
    /// Software prefetch for super-block <paramref name="i"/> of the pass starting at <paramref name="w"/> (prefetcht0;
    /// measured on the 1.5B shapes from memory: 1.4-1.7x the bandwidth without, prefetcht1 the same, prefetchnta worse).
    /// Long rows (≥ 4 · RowAhead bytes): each of the four rows RowAhead bytes ahead. Short rows (1536 values: 6
    /// super-blocks, too short for the hardware streams to ramp up): the pass's rows and the passes after it are one
    /// contiguous region whose front moves by four blocks per step, prefetched StreamAhead bytes ahead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchStep(byte* w, long rowBytes, int i, int bs)
    {
        if (rowBytes >= 4 * RowAhead)
        {
            byte* p = w + i * bs + RowAhead;
            for (int k = 0; k < Rows; k++, p += rowBytes)
                for (int o = 0; o < bs; o += 64) Sse.Prefetch0(p + o);
        }
        else
        {
            byte* p = w + Rows * i * bs + StreamAhead;
            for (int o = 0; o < Rows * bs; o += 64) Sse.Prefetch0(p + o);
        }
    }

    /// <summary>
    /// y[r] = dot(W[r], a) for r in [r0, r1): W rows of <paramref name="rowBytes"/> at <paramref name="w"/> (row 0)
    /// in <paramref name="type"/>, <paramref name="a"/> one Q8_K row of <paramref name="n"/> values. False, writing
    /// nothing, for other types or without AVX2 + FMA.
    /// </summary>
    public static bool TryMatVec(Gguf.GgmlType type, byte* w, long rowBytes, int r0, int r1, byte* a, int n, float* y)
    {
        if (!IsSupported) return false;
        switch (type)
        {
            case Gguf.GgmlType.Q4_K: MatVecQ4_K(w, rowBytes, r0, r1, (BlockQ8_K*)a, n, y); return true;
            case Gguf.GgmlType.Q5_K: MatVecQ5_K(w, rowBytes, r0, r1, (BlockQ8_K*)a, n, y); return true;
            case Gguf.GgmlType.Q6_K: MatVecQ6_K(w, rowBytes, r0, r1, (BlockQ8_K*)a, n, y); return true;
            default: return false;
        }
    }

    // ---- shared helpers ---------------------------------------------------------------------------------------

    // ---- shared helpers ---------------------------------------------------------------------------------------

    /// <summary>hsum_float_8: (lo+hi) then (0+2)+(1+3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HSum(Vector256<float> v) => HSum(v.GetLower() + v.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HSum(Vector128<float> s) => (s.GetElement(0) + s.GetElement(2)) + (s.GetElement(1) + s.GetElement(3));

    /// <summary>acc + Σ pairs of 16-bit <paramref name="p"/> × <paramref name="scale"/> (vpdpwssd, or vpmaddwd + add).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Madd(Vector256<int> acc, Vector256<short> p, Vector256<short> scale)
    {
        if (AvxVnni.IsSupported) return AvxVnni.MultiplyWideningAndAdd(acc, p, scale);
        return acc + Avx2.MultiplyAddAdjacent(p, scale);
    }

    /// <summary>Sums of 32 activation values, as 8 shorts (pairs of the 16-value bsums, wrapped like the row dot's short cast).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Q8Sums32(BlockQ8_K* y)
        => Ssse3.HorizontalAdd(Vector128.Load(y->BSums), Vector128.Load(y->BSums + 8));

    /// <summary>
    /// The 8 scales (bytes 0-7) and 8 mins (bytes 8-15) of a Q4_K/Q5_K block from its 12 scale bytes at
    /// <paramref name="q"/> (16 bytes are read): ggml's utmp unpacking, uint lanes [u0 &amp; k1, (u2 &amp; k2) | ((u0 &gt;&gt; 6)
    /// &amp; k3) &lt;&lt; 4, u1 &amp; k1, ((u2 &gt;&gt; 4) &amp; k2) | ((u1 &gt;&gt; 6) &amp; k3) &lt;&lt; 4], done on all four lanes at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> ScalesMinsK4(byte* q)
    {
        var v = Vector128.Load((uint*)q);                                           // [u0, u1, u2, -]
        var a = Avx2.ShiftRightLogicalVariable(Sse2.Shuffle(v, 0b10_01_10_00),       // [u0, u2, u1, u2] >> [0, 0, 0, 4]
            Vector128.Create(0u, 0u, 0u, 4u));
        var lo = a & Vector128.Create(0x3f3f3f3fu, 0x0f0f0f0fu, 0x3f3f3f3fu, 0x0f0f0f0fu);
        // ((u >> 6) & 3) << 4 per byte = (u >> 2) & 0x30 per byte: bits 6-7 of each byte moved to 4-5
        var hi = Sse2.ShiftRightLogical(Sse2.Shuffle(v, 0b01_01_00_00), 2)           // [u0, u0, u1, u1] >> 2
            & Vector128.Create(0u, 0x30303030u, 0u, 0x30303030u);
        return (lo | hi).AsByte();
    }

    /// <summary>vpshufb control selecting 16-bit element <paramref name="s"/> of each 128-bit half into every element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Pick(int s) => Vector256.Create((ushort)(0x0100 * (2 * s + 1) + 2 * s)).AsByte();

    /// <summary>vpshufb control: element <paramref name="lo"/> into the lower half's elements, <paramref name="hi"/> into the upper's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Pick2(int lo, int hi)
        => Vector256.Create(Vector128.Create((ushort)(0x0100 * (2 * lo + 1) + 2 * lo)),
            Vector128.Create((ushort)(0x0100 * (2 * hi + 1) + 2 * hi))).AsByte();

    // ---- Q4_K / Q5_K --------------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MatVecQ4_K(byte* w, long rowBytes, int r0, int r1, BlockQ8_K* a, int n, float* y)
    {
        int r = r0;
        for (; r + Rows <= r1; r += Rows) Rows4K4(w + r * rowBytes, rowBytes, a, n / 256, y + r, q5: false);
        for (; r < r1; r++) y[r] = VecDot.Q4_KQ8_K((BlockQ4_K*)(w + r * rowBytes), a, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MatVecQ5_K(byte* w, long rowBytes, int r0, int r1, BlockQ8_K* a, int n, float* y)
    {
        int r = r0;
        for (; r + Rows <= r1; r += Rows) Rows4K4(w + r * rowBytes, rowBytes, a, n / 256, y + r, q5: true);
        for (; r < r1; r++) y[r] = VecDot.Q5_KQ8_K((BlockQ5_K*)(w + r * rowBytes), a, n);
    }

    /// <summary>Four rows; inlined into its two callers so <paramref name="q5"/> is a constant there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows4K4(byte* w, long rowBytes, BlockQ8_K* a, int nb, float* y, bool q5)
    {
        int bs = q5 ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
        byte* x0 = w, x1 = w + rowBytes, x2 = w + 2 * rowBytes, x3 = w + 3 * rowBytes;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector128<float> m0 = default, m1 = default, m2 = default, m3 = default;
        for (int i = 0; i < nb; i++, x0 += bs, x1 += bs, x2 += bs, x3 += bs)
        {
            PrefetchStep(w, rowBytes, i, bs);
            var yb = a + i;
            float yd = yb->D, nyd = -yd;
            var s32 = Q8Sums32(yb);
            sbyte* q8 = yb->Qs;
            var sm0 = ScalesMinsK4(x0 + 4);
            acc0 = Fma.MultiplyAdd(Vector256.Create(yd * Fp16.ToFloat(*(ushort*)x0)), Avx.ConvertToVector256Single(SumiK4(x0, sm0, q8, q5)), acc0);
            m0 = MinsK4(x0, sm0, s32, nyd, q5, m0);
            var sm1 = ScalesMinsK4(x1 + 4);
            acc1 = Fma.MultiplyAdd(Vector256.Create(yd * Fp16.ToFloat(*(ushort*)x1)), Avx.ConvertToVector256Single(SumiK4(x1, sm1, q8, q5)), acc1);
            m1 = MinsK4(x1, sm1, s32, nyd, q5, m1);
            var sm2 = ScalesMinsK4(x2 + 4);
            acc2 = Fma.MultiplyAdd(Vector256.Create(yd * Fp16.ToFloat(*(ushort*)x2)), Avx.ConvertToVector256Single(SumiK4(x2, sm2, q8, q5)), acc2);
            m2 = MinsK4(x2, sm2, s32, nyd, q5, m2);
            var sm3 = ScalesMinsK4(x3 + 4);
            acc3 = Fma.MultiplyAdd(Vector256.Create(yd * Fp16.ToFloat(*(ushort*)x3)), Avx.ConvertToVector256Single(SumiK4(x3, sm3, q8, q5)), acc3);
            m3 = MinsK4(x3, sm3, s32, nyd, q5, m3);
        }
        if (q5)
        {
            y[0] = HSum(acc0) + m0.ToScalar();
            y[1] = HSum(acc1) + m1.ToScalar();
            y[2] = HSum(acc2) + m2.ToScalar();
            y[3] = HSum(acc3) + m3.ToScalar();
        }
        else
        {
            y[0] = HSum(acc0) + HSum(m0);
            y[1] = HSum(acc1) + HSum(m1);
            y[2] = HSum(acc2) + HSum(m2);
            y[3] = HSum(acc3) + HSum(m3);
        }
    }

    /// <summary>
    /// The mins term of one Q4_K/Q5_K super-block: prod4 = mins · (32-value activation sums) pairwise; Q4_K accM =
    /// fma(−yD·dmin, (float)prod4, accM), Q5_K summs (element 0) = fma(−yD·dmin, Σ prod4, summs).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> MinsK4(byte* x, Vector128<byte> sm, Vector128<short> s32, float nyd, bool q5, Vector128<float> accM)
    {
        float dmin = nyd * Fp16.ToFloat(*(ushort*)(x + 2));
        // mins are bytes 8-15 of the unpacked scales: 6-bit values from scale bytes 4-11
        return MinsSmall(Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(sm, 8)), s32, dmin, q5, accM);
    }

    /// <summary>
    /// sumi8 of one Q4_K/Q5_K super-block: lane l = Σ over sub-blocks s of sc[s] times the sum of the four products
    /// q·q8 at bytes 4l..4l+3 of the sub-block (lanes 4-7 from bytes 16-31 of each 32-byte half), as in the row dot.
    /// Block layout: d, dmin (fp16), 12 scale bytes, then Q5_K's 32 qh bytes, then 128 nibble bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SumiK4(byte* x, Vector128<byte> sm, sbyte* q8, bool q5)
    {
        var sc = Sse41.ConvertToVector128Int16(sm);
        var scw = Vector256.Create(sc, sc).AsByte();       // sc[0..7] as shorts in both halves
        byte* qs = x + (q5 ? 48 : 16);
        var hbits = q5 ? Vector256.Load(x + 16).AsUInt16() : default;
        var sa = PairK4(qs, hbits, q8, scw, 0, Vector256<int>.Zero, q5, out var sb);
        sa = PairK4(qs, hbits, q8, scw, 1, sa, q5, out var sb1);
        sb += sb1;
        sa = PairK4(qs, hbits, q8, scw, 2, sa, q5, out sb1);
        sb += sb1;
        sa = PairK4(qs, hbits, q8, scw, 3, sa, q5, out sb1);
        return sa + (sb + sb1);
    }

    /// <summary>Sub-blocks 2j (low nibbles, returned added to <paramref name="sa"/>) and 2j+1 (high nibbles, <paramref name="sb"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> PairK4(byte* qs, Vector256<ushort> hbits, sbyte* q8, Vector256<byte> scw, int j,
        Vector256<int> sa, bool q5, out Vector256<int> sb)
    {
        var m4 = Vector256.Create((byte)0xF);
        var bits = Vector256.Load(qs + 32 * j);
        var lo = bits & m4;
        var hi = Vector256.ShiftRightLogical(bits.AsUInt16(), 4).AsByte() & m4;
        if (q5)
        {
            // bit 2j (lo) / 2j+1 (hi) of each qh byte to bit 4: these 16-bit shifts keep the bit inside its byte
            var b4 = Vector256.Create((byte)0x10);
            var hl = j <= 2 ? Vector256.ShiftLeft(hbits, 4 - 2 * j) : Vector256.ShiftRightLogical(hbits, 2 * j - 4);
            var hh = j <= 1 ? Vector256.ShiftLeft(hbits, 3 - 2 * j) : Vector256.ShiftRightLogical(hbits, 2 * j - 3);
            lo |= hl.AsByte() & b4;
            hi |= hh.AsByte() & b4;
        }
        var plo = Avx2.MultiplyAddAdjacent(lo, Vector256.Load(q8 + 64 * j));
        var phi = Avx2.MultiplyAddAdjacent(hi, Vector256.Load(q8 + 64 * j + 32));
        sb = Madd(Vector256<int>.Zero, phi, Avx2.Shuffle(scw, Pick(2 * j + 1)).AsInt16());
        return Madd(sa, plo, Avx2.Shuffle(scw, Pick(2 * j)).AsInt16());
    }

    // ---- Q4_K / Q5_K, 2 to 4 activation rows ----------------------------------------------------------------------
    // One weight row at a time: each super-block is unpacked once into registers (8 nibble vectors, 8 broadcast
    // scales, the mins) and multiplied with every activation row; per (row, activation) the same lanes and float steps
    // as the row dot, so each output equals the one-row kernel's and the row dot's.

    /// <summary>Most activation rows <see cref="TryMatMulSmall"/> takes; wider batches go to the tiles.</summary>
    public const int MaxSmallBatch = 4;

    /// <summary>
    /// y[b * yStride + r] = dot(W[r], A[b]) for r in [r0, r1), b in [0, batch), 2 ≤ batch ≤ <see cref="MaxSmallBatch"/>,
    /// Q4_K/Q5_K weights, Q8_K activation rows of <paramref name="aRowBytes"/> at <paramref name="a"/>; bit-identical to
    /// the row dots. False, writing nothing, for other types, other batch sizes or without AVX2 + FMA.
    /// </summary>
    public static bool TryMatMulSmall(Gguf.GgmlType type, byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes,
        int batch, int n, float* y, int yStride)
    {
        if (!IsSupported || batch < 2 || batch > MaxSmallBatch) return false;
        switch (type)
        {
            case Gguf.GgmlType.Q4_K: SmallQ4_K(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride); return true;
            case Gguf.GgmlType.Q5_K: SmallQ5_K(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride); return true;
            default: return false;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SmallQ4_K(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n, float* y, int yStride)
    {
        SmallK4<IsQ4>(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SmallQ5_K(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n, float* y, int yStride)
    {
        SmallK4<IsQ5>(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride);
    }

    /// <summary>Compile-time type switch: the JIT compiles <see cref="SmallK4{T}"/> once per struct, with the flag constant.</summary>
    private interface IKFlag
    {
        bool Q5 { get; }
    }

    private struct IsQ4 : IKFlag
    {
        public readonly bool Q5 => false;
    }

    private struct IsQ5 : IKFlag
    {
        public readonly bool Q5 => true;
    }

    /// <summary>Too many locals to be inlined, so specialized per type through <typeparamref name="T"/> instead.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SmallK4<T>(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n,
        float* y, int yStride) where T : struct, IKFlag
    {
        bool q5 = default(T).Q5;
        // per activation row b: acc8 in a{b}, accM (Q5_K: summs in element 0) in m{b}
        int nb = n / 256, bs = q5 ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
        var m4 = Vector256.Create((byte)0xF);
        for (int r = r0; r < r1; r++)
        {
            byte* x = w + r * rowBytes;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector128<float> m0 = default, m1 = default, m2 = default, m3 = default;
            for (int i = 0; i < nb; i++)
            {
                byte* xb = x + i * bs;
                for (int o = 0; o < bs; o += 64) Sse.Prefetch0(xb + StreamAhead + o);
                var sm = ScalesMinsK4(xb + 4);
                var sc = Sse41.ConvertToVector128Int16(sm);
                var scw = Vector256.Create(sc, sc).AsByte();
                var mins = Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(sm, 8));
                float d = Fp16.ToFloat(*(ushort*)xb), dm = Fp16.ToFloat(*(ushort*)(xb + 2));
                byte* qs = xb + (q5 ? 48 : 16);
                var v0 = Vector256.Load(qs);
                var v1 = Vector256.Load(qs + 32);
                var v2 = Vector256.Load(qs + 64);
                var v3 = Vector256.Load(qs + 96);
                // sub-block s: nibbles (low of byte j for s = 2j, high for 2j + 1) | Q5_K: bit s of qh at bit 4
                var w0 = v0 & m4;
                var w1 = Vector256.ShiftRightLogical(v0.AsUInt16(), 4).AsByte() & m4;
                var w2 = v1 & m4;
                var w3 = Vector256.ShiftRightLogical(v1.AsUInt16(), 4).AsByte() & m4;
                var w4 = v2 & m4;
                var w5 = Vector256.ShiftRightLogical(v2.AsUInt16(), 4).AsByte() & m4;
                var w6 = v3 & m4;
                var w7 = Vector256.ShiftRightLogical(v3.AsUInt16(), 4).AsByte() & m4;
                if (q5)
                {
                    var hb = Vector256.Load(xb + 16).AsUInt16();
                    var b4 = Vector256.Create((byte)0x10);
                    w0 |= Vector256.ShiftLeft(hb, 4).AsByte() & b4;
                    w1 |= Vector256.ShiftLeft(hb, 3).AsByte() & b4;
                    w2 |= Vector256.ShiftLeft(hb, 2).AsByte() & b4;
                    w3 |= Vector256.ShiftLeft(hb, 1).AsByte() & b4;
                    w4 |= hb.AsByte() & b4;
                    w5 |= Vector256.ShiftRightLogical(hb, 1).AsByte() & b4;
                    w6 |= Vector256.ShiftRightLogical(hb, 2).AsByte() & b4;
                    w7 |= Vector256.ShiftRightLogical(hb, 3).AsByte() & b4;
                }
                var s0 = Avx2.Shuffle(scw, Pick(0)).AsInt16();
                var s1 = Avx2.Shuffle(scw, Pick(1)).AsInt16();
                var s2 = Avx2.Shuffle(scw, Pick(2)).AsInt16();
                var s3 = Avx2.Shuffle(scw, Pick(3)).AsInt16();
                var s4 = Avx2.Shuffle(scw, Pick(4)).AsInt16();
                var s5 = Avx2.Shuffle(scw, Pick(5)).AsInt16();
                var s6 = Avx2.Shuffle(scw, Pick(6)).AsInt16();
                var s7 = Avx2.Shuffle(scw, Pick(7)).AsInt16();
                SmallRow((BlockQ8_K*)(a + 0 * aRowBytes) + i, w0, w1, w2, w3, w4, w5, w6, w7, s0, s1, s2, s3, s4, s5, s6, s7,
                    d, dm, mins, q5, ref a0, ref m0);
                SmallRow((BlockQ8_K*)(a + 1 * aRowBytes) + i, w0, w1, w2, w3, w4, w5, w6, w7, s0, s1, s2, s3, s4, s5, s6, s7,
                    d, dm, mins, q5, ref a1, ref m1);
                if (batch > 2) SmallRow((BlockQ8_K*)(a + 2 * aRowBytes) + i, w0, w1, w2, w3, w4, w5, w6, w7, s0, s1, s2, s3, s4, s5, s6, s7,
                    d, dm, mins, q5, ref a2, ref m2);
                if (batch > 3) SmallRow((BlockQ8_K*)(a + 3 * aRowBytes) + i, w0, w1, w2, w3, w4, w5, w6, w7, s0, s1, s2, s3, s4, s5, s6, s7,
                    d, dm, mins, q5, ref a3, ref m3);
            }
            y[r] = Finish(a0, m0, q5);
            y[(long)yStride + r] = Finish(a1, m1, q5);
            if (batch > 2) y[2L * yStride + r] = Finish(a2, m2, q5);
            if (batch > 3) y[3L * yStride + r] = Finish(a3, m3, q5);
        }
    }

    /// <summary>
    /// One activation row's part of a Q4_K/Q5_K super-block in the small-batch kernel: the eight 32-value sub-block
    /// products (u8 weights × q8, scaled by the sub-block scales, even and odd sub-blocks in two chains as the row dot
    /// keeps them), then the super-block FMA into <paramref name="acc"/> and the mins term into <paramref name="accM"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SmallRow(BlockQ8_K* yb,
        Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7,
        Vector256<short> s0, Vector256<short> s1, Vector256<short> s2, Vector256<short> s3,
        Vector256<short> s4, Vector256<short> s5, Vector256<short> s6, Vector256<short> s7,
        float d, float dm, Vector128<short> mins, bool q5, ref Vector256<float> acc, ref Vector128<float> accM)
    {
        sbyte* q8 = yb->Qs;
        var sa = Madd(Vector256<int>.Zero, Avx2.MultiplyAddAdjacent(w0, Vector256.Load(q8)), s0);
        var sb = Madd(Vector256<int>.Zero, Avx2.MultiplyAddAdjacent(w1, Vector256.Load(q8 + 32)), s1);
        sa = Madd(sa, Avx2.MultiplyAddAdjacent(w2, Vector256.Load(q8 + 64)), s2);
        sb = Madd(sb, Avx2.MultiplyAddAdjacent(w3, Vector256.Load(q8 + 96)), s3);
        sa = Madd(sa, Avx2.MultiplyAddAdjacent(w4, Vector256.Load(q8 + 128)), s4);
        sb = Madd(sb, Avx2.MultiplyAddAdjacent(w5, Vector256.Load(q8 + 160)), s5);
        sa = Madd(sa, Avx2.MultiplyAddAdjacent(w6, Vector256.Load(q8 + 192)), s6);
        sb = Madd(sb, Avx2.MultiplyAddAdjacent(w7, Vector256.Load(q8 + 224)), s7);
        float yd = yb->D;
        acc = Fma.MultiplyAdd(Vector256.Create(yd * d), Avx.ConvertToVector256Single(sa + sb), acc);
        accM = MinsSmall(mins, Q8Sums32(yb), -yd * dm, q5, accM);
    }

    /// <summary>The mins term of one block and activation row (Q4_K accM; Q5_K summs in element 0), as the row dot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> MinsSmall(Vector128<short> mins, Vector128<short> s32, float dmin, bool q5, Vector128<float> accM)
    {
        var prod = Sse2.MultiplyAddAdjacent(mins, s32);
        if (q5)
        {
            int hs = prod.GetElement(0) + prod.GetElement(1) + prod.GetElement(2) + prod.GetElement(3);
            return Vector128.CreateScalarUnsafe(MathF.FusedMultiplyAdd(dmin, hs, accM.ToScalar()));
        }
        return Fma.MultiplyAdd(Vector128.Create(dmin), Sse2.ConvertToVector128Single(prod), accM);
    }

    /// <summary>hsum_float_8(acc8) + hsum(accM) (Q5_K: + summs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Finish(Vector256<float> acc, Vector128<float> accM, bool q5) => HSum(acc) + (q5 ? accM.ToScalar() : HSum(accM));

    // ---- Q6_K ---------------------------------------------------------------------------------------------------
    // Row dot: chunk c (q8[32c..32c+31]) has scales s[2c] (lanes 0-3) and s[2c+1] (lanes 4-7); sumi8 lane l =
    // Σ_c scale·(Σ_{t<4} q6·q8 − Σ_{t<4} 32·q8) over bytes 4l..4l+3 of each half. Here the 16-bit pairs of 32·q8
    // (activation only, shared by the four rows) are subtracted from the pairs of q6·q8 (the difference fits in
    // 16 bits) before the scale is applied.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MatVecQ6_K(byte* w, long rowBytes, int r0, int r1, BlockQ8_K* a, int n, float* y)
    {
        int r = r0;
        if (r + Rows <= r1)
        {
            short* off = stackalloc short[16 * 8];
            for (; r + Rows <= r1; r += Rows) Rows4Q6(w + r * rowBytes, rowBytes, a, n / 256, y + r, off);
        }
        for (; r < r1; r++) y[r] = VecDot.Q6_KQ8_K((BlockQ6_K*)(w + r * rowBytes), a, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows4Q6(byte* w, long rowBytes, BlockQ8_K* a, int nb, float* y, short* off)
    {
        const int bs = 210;   // sizeof(BlockQ6_K)
        byte* x0 = w, x1 = w + rowBytes, x2 = w + 2 * rowBytes, x3 = w + 3 * rowBytes;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        var m32 = Vector256.Create((byte)32);
        for (int i = 0; i < nb; i++, x0 += bs, x1 += bs, x2 += bs, x3 += bs)
        {
            PrefetchStep(w, rowBytes, i, bs);
            var yb = a + i;
            float yd = yb->D;
            sbyte* q8 = yb->Qs;
            // 16-bit pairs of 32·q8 per 32-value chunk: the activation side of the row dot's "− 32", shared by the rows
            for (int c = 0; c < 8; c++)
                Vector256.Store(Avx2.MultiplyAddAdjacent(m32, Vector256.Load(q8 + 32 * c)), off + 16 * c);
            acc0 = Fma.MultiplyAdd(Vector256.Create(yd * Fp16.ToFloat(*(ushort*)(x0 + 208))), Avx.ConvertToVector256Single(SumiQ6(x0, q8, off)), acc0);
            acc1 = Fma.MultiplyAdd(Vector256.Create(yd * Fp16.ToFloat(*(ushort*)(x1 + 208))), Avx.ConvertToVector256Single(SumiQ6(x1, q8, off)), acc1);
            acc2 = Fma.MultiplyAdd(Vector256.Create(yd * Fp16.ToFloat(*(ushort*)(x2 + 208))), Avx.ConvertToVector256Single(SumiQ6(x2, q8, off)), acc2);
            acc3 = Fma.MultiplyAdd(Vector256.Create(yd * Fp16.ToFloat(*(ushort*)(x3 + 208))), Avx.ConvertToVector256Single(SumiQ6(x3, q8, off)), acc3);
        }
        y[0] = HSum(acc0);
        y[1] = HSum(acc1);
        y[2] = HSum(acc2);
        y[3] = HSum(acc3);
    }

    /// <summary>sumi8 of one Q6_K super-block (layout: 128 ql bytes, 64 qh bytes, 16 int8 scales, fp16 d).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SumiQ6(byte* x, sbyte* q8, short* off)
    {
        var lo8 = Sse41.ConvertToVector128Int16(Vector128.Load((sbyte*)x + 192));
        var hi8 = Sse41.ConvertToVector128Int16(Vector128.Load((sbyte*)x + 200));
        var sa = HalfQ6(x, q8, off, Vector256.Create(lo8, lo8).AsByte(), 0, Vector256<int>.Zero, out var sb);
        sa = HalfQ6(x, q8, off, Vector256.Create(hi8, hi8).AsByte(), 1, sa, out var sb1);
        return sa + (sb + sb1);
    }

    /// <summary>
    /// Chunks 4j..4j+3 (128 values) of a Q6_K block: q6 = 4 low bits from ql | 2 high bits from qh; the lanes of
    /// chunks 4j and 4j+2 added to <paramref name="sa"/> (returned), of 4j+1 and 4j+3 to <paramref name="sb"/>.
    /// <paramref name="s"/>: the 8 scales of these chunks as shorts, in both 128-bit halves.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> HalfQ6(byte* x, sbyte* q8, short* off, Vector256<byte> s, int j, Vector256<int> sa, out Vector256<int> sb)
    {
        var m4 = Vector256.Create((byte)0xF);
        var m30 = Vector256.Create((byte)0x30);
        byte* ql = x + 64 * j;
        var b1 = Vector256.Load(ql);
        var b2 = Vector256.Load(ql + 32);
        var h = Vector256.Load(x + 128 + 32 * j).AsUInt16();
        // (h & 3) << 4, ((h >> 2) & 3) << 4, ... as 16-bit shifts that keep the bits inside each byte, masked with 0x30
        var q0 = (b1 & m4) | (Vector256.ShiftLeft(h, 4).AsByte() & m30);
        var q1 = (b2 & m4) | (Vector256.ShiftLeft(h, 2).AsByte() & m30);
        var q2 = (Vector256.ShiftRightLogical(b1.AsUInt16(), 4).AsByte() & m4) | (h.AsByte() & m30);
        var q3 = (Vector256.ShiftRightLogical(b2.AsUInt16(), 4).AsByte() & m4) | (Vector256.ShiftRightLogical(h, 2).AsByte() & m30);
        sbyte* a = q8 + 128 * j;
        short* o = off + 64 * j;
        sa = Madd(sa, Avx2.MultiplyAddAdjacent(q0, Vector256.Load(a)) - Vector256.Load(o), Avx2.Shuffle(s, Pick2(0, 1)).AsInt16());
        sb = Madd(Vector256<int>.Zero, Avx2.MultiplyAddAdjacent(q1, Vector256.Load(a + 32)) - Vector256.Load(o + 16), Avx2.Shuffle(s, Pick2(2, 3)).AsInt16());
        sa = Madd(sa, Avx2.MultiplyAddAdjacent(q2, Vector256.Load(a + 64)) - Vector256.Load(o + 32), Avx2.Shuffle(s, Pick2(4, 5)).AsInt16());
        sb = Madd(sb, Avx2.MultiplyAddAdjacent(q3, Vector256.Load(a + 96)) - Vector256.Load(o + 48), Avx2.Shuffle(s, Pick2(6, 7)).AsInt16());
        return sa;
    }
}
