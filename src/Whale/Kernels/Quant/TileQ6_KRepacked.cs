using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

/// <summary>
/// Q6_K weights repacked at load (<see cref="Q6_KRepacked"/>) × Q8_K activations, for every batch size, in the
/// <em>row-lane order</em> of <see cref="ReferenceDot.Q6_KQ8_KRowLane"/>: per super-block and 16-value sub-block the
/// exact integer sum Σ (q − 32)·a, added to the block's float f with one FMA times d·sc (exact in f32); then
/// acc = fma(f, a.d, acc). Not the order of llama.cpp's AVX2 <c>vec_dot_q6_K_q8_K</c> (kept by
/// <see cref="GemvKQuants"/> and <see cref="TileKQuants"/>); results differ from llama.cpp's by float rounding only.
/// <para>
/// Each sub-block's three 32-byte vectors give its four slices of 4 values × 8 rows as 4·q (three with one
/// <c>&amp; 0xFC</c>, the fourth from the low two bits of each, moved by GFNI affine transforms and merged), the
/// unsigned operands of AVX-VNNI <c>vpdpbusd</c> with broadcast activation dwords; the accumulator starts at
/// −128·Σa (the −32 of 4·q, from the activation quants as llama.cpp forms it), so the 8 lanes end with 4 times the
/// 8 rows' exact sums (below 2^24 in magnitude, so the conversion is exact too) and the FMA with d·sc/4 gives the
/// bits of the reference. The scales of a group are decoded once per call into f32 d·sc/4.
/// </para>
/// </summary>
internal static unsafe class TileQ6_KRepacked
{
    /// <summary>Bytes of activation rows handled at a time: they stay in L2 (2 MB per core here) while the row groups stream past.</summary>
    private const int ChunkBytes = 1536 << 10;

    /// <summary>How far ahead of the super-block being read a tile prefetches its weights (into L2: prefetcht1).</summary>
    private const int PrefetchBytes = 16384;

    /// <summary>Activation rows per register tile.</summary>
    private const int ColTile = 8;

    /// <summary>Floats of decoded scales per super-block: 16 sub-blocks × 8 rows of d·sc/4.</summary>
    private const int DecodedFloats = 128;

    /// <summary>Bytes of one Q8_K activation block (f32 d, 256 quants, 16 bsums).</summary>
    private const int ActBlockBytes = 292;

    /// <summary>True when this kernel can run (AVX-512 F/VL for 32 registers and EVEX forms, AVX-VNNI, GFNI, FMA).</summary>
    public static bool IsSupported => Avx512F.VL.IsSupported && AvxVnni.IsSupported && Gfni.V256.IsSupported && Fma.IsSupported;

    /// <summary>
    /// y[b * yStride + r] = dot(W[r], A[b]) for r in [r0, r1), b in [0, batch): A rows of <paramref name="aRowBytes"/>
    /// bytes of Q8_K blocks at <paramref name="a"/>. Any row range works; groups cut by the range (or padded at the end
    /// of the matrix) are computed into a scratch tile and only their rows in range stored. Uses a per-thread scratch
    /// buffer (grown on first use, then reused).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MatMul(Q6_KRepacked w, int r0, int r1, byte* a, long aRowBytes, int batch, float* y, int yStride)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (r0 >= r1 || batch <= 0) return;
        const int G = Q6_KRepacked.GroupRows;
        int nb = w.Blocks;
        long fit = ChunkBytes / ((long)nb * (ActBlockBytes + 64));
        int chunk = batch <= fit ? batch : (int)Math.Max(ColTile, fit / ColTile * ColTile);
        long cBytes = (long)chunk * nb * 64, decBytes = (long)nb * DecodedFloats * 4, tileBytes = (long)chunk * G * 4;
        byte* scratch = TileScratch.Get(cBytes + decBytes + tileBytes);
        var corr = (int*)scratch;
        var dec = (float*)(scratch + cBytes);
        float* tile = dec + nb * DecodedFloats;
        int g0 = r0 / G, g1 = (r1 + G - 1) / G;
        for (int c0 = 0; c0 < batch; c0 += chunk)
        {
            int cn = Math.Min(chunk, batch - c0);
            byte* ac = a + c0 * aRowBytes;
            PrepareCorrections(ac, aRowBytes, cn, nb, corr);
            float* yc = y + (long)c0 * yStride;
            for (int g = g0; g < g1; g++)
            {
                int gr = g * G;
                bool whole = gr >= r0 && gr + G <= r1;
                float* o = whole ? yc + gr : tile;
                int oStride = whole ? yStride : G;
                Decode(w.Scales(g), w.D(g), nb, dec);
                Cols(w.Quants(g), dec, ac, aRowBytes, corr, cn, nb, o, oStride);
                if (whole) continue;
                int lo = Math.Max(gr, r0), hi = Math.Min(gr + G, r1);
                for (int b = 0; b < cn; b++)
                    for (int r = lo; r < hi; r++)
                        yc[(long)b * yStride + r] = tile[b * G + r - gr];
            }
        }
    }

    /// <summary>
    /// Per activation row, super-block and 16-value sub-block j the accumulator start −128·Σa (the −32 offset of the
    /// quants, times the 4 of 4·q), from the activation quants (row b's block i at corr + (b · nb + i) · 16).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void PrepareCorrections(byte* a, long aRowBytes, int batch, int nb, int* corr)
    {
        var flip = Vector128.Create((byte)0x80);
        for (int b = 0; b < batch; b++)
        {
            var blk = (BlockQ8_K*)(a + b * aRowBytes);
            for (int i = 0; i < nb; i++, blk++)
                for (int j = 0; j < 16; j++)
                {
                    // Σ (a + 128) over 8 bytes per half with psadbw, minus 16·128
                    var s = Sse2.SumAbsoluteDifferences(Vector128.Load((byte*)blk->Qs + 16 * j) ^ flip, Vector128<byte>.Zero);
                    *corr++ = -128 * (s.GetElement(0) + s.GetElement(4) - 2048);
                }
        }
    }

    /// <summary>Decodes the int8 scales of one group's <paramref name="nb"/> super-blocks into f32 d·sc/4 (16 × 8 per block).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Decode(byte* scales, ushort* dh, int nb, float* dec)
    {
        for (int i = 0; i < nb; i++, scales += Q6_KRepacked.ScaleBytes, dh += 8, dec += DecodedFloats)
        {
            var d4 = Fp16.ToFloat8(Vector128.Load(dh)) * Vector256.Create(0.25f);
            for (int m = 0; m < 4; m++)
            {
                var v = Vector256.LoadAligned((int*)scales + 8 * m);
                // byte t of each dword, sign-extended: shift it to the top, then arithmetically back down
                (Avx.ConvertToVector256Single(Vector256.ShiftRightArithmetic(Vector256.ShiftLeft(v, 24), 24)) * d4).Store(dec + 32 * m);
                (Avx.ConvertToVector256Single(Vector256.ShiftRightArithmetic(Vector256.ShiftLeft(v, 16), 24)) * d4).Store(dec + 32 * m + 8);
                (Avx.ConvertToVector256Single(Vector256.ShiftRightArithmetic(Vector256.ShiftLeft(v, 8), 24)) * d4).Store(dec + 32 * m + 16);
                (Avx.ConvertToVector256Single(Vector256.ShiftRightArithmetic(v, 24)) * d4).Store(dec + 32 * m + 24);
            }
        }
    }

    /// <summary>One row group (8 weight rows) against every activation row of the chunk, <see cref="ColTile"/> at a time.</summary>
    private static void Cols(byte* q, float* dec, byte* a, long arb, int* corr, int batch, int nb, float* y, int yStride)
    {
        int b = 0;
        for (; b + ColTile <= batch; b += ColTile)
            Tile<TileCount.Eight>(q, dec, a + b * arb, arb, corr + b * nb * 16, nb, y + (long)b * yStride, yStride);
        byte* ab = a + b * arb;
        int* cb = corr + b * nb * 16;
        float* o = y + (long)b * yStride;
        switch (batch - b)
        {
            case 7: Tile<TileCount.Seven>(q, dec, ab, arb, cb, nb, o, yStride); break;
            case 6: Tile<TileCount.Six>(q, dec, ab, arb, cb, nb, o, yStride); break;
            case 5: Tile<TileCount.Five>(q, dec, ab, arb, cb, nb, o, yStride); break;
            case 4: Tile<TileCount.Four>(q, dec, ab, arb, cb, nb, o, yStride); break;
            case 3: Tile<TileCount.Three>(q, dec, ab, arb, cb, nb, o, yStride); break;
            case 2: Tile<TileCount.Two>(q, dec, ab, arb, cb, nb, o, yStride); break;
            case 1: Tile<TileCount.One>(q, dec, ab, arb, cb, nb, o, yStride); break;
        }
    }

    /// <summary>
    /// One sub-block for 8 rows (lane r = row r) against one activation row: f + f32(c + Σ_k vpdpbusd(w_k, a[4k..4k+3])) · s,
    /// <paramref name="aq"/> the sub-block's 16 activation quants, <paramref name="c"/> its correction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Sub(Vector256<float> f, Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        byte* aq, int c, Vector256<float> s)
    {
        var p = (int*)aq;
        var acc = AvxVnni.MultiplyWideningAndAdd(Vector256.Create(c), w0, Vector256.Create(p[0]).AsSByte());
        acc = AvxVnni.MultiplyWideningAndAdd(acc, w1, Vector256.Create(p[1]).AsSByte());
        acc = AvxVnni.MultiplyWideningAndAdd(acc, w2, Vector256.Create(p[2]).AsSByte());
        acc = AvxVnni.MultiplyWideningAndAdd(acc, w3, Vector256.Create(p[3]).AsSByte());
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(acc), s, f);
    }

    /// <summary>
    /// 8 weight rows (one group: super-block i's quants at q + 1536·i, its decoded scales at dec + 128·i) × TC.N
    /// activation rows (1..8, <paramref name="arb"/> bytes apart from <paramref name="a"/>; their corrections nb · 16
    /// ints apart from <paramref name="corr"/>); output b's 8 values stored at y + b·yStride.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TC>(byte* q, float* dec, byte* a, long arb, int* corr, int nb, float* y, int yStride)
        where TC : struct, TileCount.ICount
    {
        var m = Vector256.Create((byte)0xFC);
        // GFNI bit matrices moving bits 0-1 of each byte to bits 2-3 / 4-5 / 6-7 (and clearing the rest)
        var toA = Vector256.Create(0x0000010200000000ul).AsByte();
        var toB = Vector256.Create(0x0000000001020000ul).AsByte();
        var toC = Vector256.Create(0x0000000000000102ul).AsByte();
        long cs = nb * 16;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        byte* blk = a;
        for (int i = 0; i < nb; i++, q += Q6_KRepacked.QuantBytes, dec += DecodedFloats, blk += ActBlockBytes, corr += 16)
        {
            // the group's quants are one sequential stream: ask for a super-block's 24 lines 16 KB ahead into L2
            byte* pf = q + PrefetchBytes;
            for (int l = 0; l < Q6_KRepacked.QuantBytes; l += 64) Sse.Prefetch1(pf + l);
            Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default, f4 = default, f5 = default, f6 = default, f7 = default;
            for (int j = 0; j < 16; j++)
            {
                byte* qj = q + j * 96;
                var va = Vector256.LoadAligned(qj);
                var vb = Vector256.LoadAligned(qj + 32);
                var vc = Vector256.LoadAligned(qj + 64);
                var w0 = va & m;
                var w1 = vb & m;
                var w2 = vc & m;
                var w3 = Gfni.V256.GaloisFieldAffineTransform(va, toA, 0) | Gfni.V256.GaloisFieldAffineTransform(vb, toB, 0)
                    | Gfni.V256.GaloisFieldAffineTransform(vc, toC, 0);
                var s = Vector256.Load(dec + 8 * j);
                byte* aj = blk + 4 + 16 * j;
                int* cj = corr + j;
                f0 = Sub(f0, w0, w1, w2, w3, aj, cj[0], s);
                if (TC.N > 1) f1 = Sub(f1, w0, w1, w2, w3, aj + arb, cj[cs], s);
                if (TC.N > 2) f2 = Sub(f2, w0, w1, w2, w3, aj + 2 * arb, cj[2 * cs], s);
                if (TC.N > 3) f3 = Sub(f3, w0, w1, w2, w3, aj + 3 * arb, cj[3 * cs], s);
                if (TC.N > 4) f4 = Sub(f4, w0, w1, w2, w3, aj + 4 * arb, cj[4 * cs], s);
                if (TC.N > 5) f5 = Sub(f5, w0, w1, w2, w3, aj + 5 * arb, cj[5 * cs], s);
                if (TC.N > 6) f6 = Sub(f6, w0, w1, w2, w3, aj + 6 * arb, cj[6 * cs], s);
                if (TC.N > 7) f7 = Sub(f7, w0, w1, w2, w3, aj + 7 * arb, cj[7 * cs], s);
            }
            c0 = Fma.MultiplyAdd(f0, Vector256.Create(*(float*)blk), c0);
            if (TC.N > 1) c1 = Fma.MultiplyAdd(f1, Vector256.Create(*(float*)(blk + arb)), c1);
            if (TC.N > 2) c2 = Fma.MultiplyAdd(f2, Vector256.Create(*(float*)(blk + 2 * arb)), c2);
            if (TC.N > 3) c3 = Fma.MultiplyAdd(f3, Vector256.Create(*(float*)(blk + 3 * arb)), c3);
            if (TC.N > 4) c4 = Fma.MultiplyAdd(f4, Vector256.Create(*(float*)(blk + 4 * arb)), c4);
            if (TC.N > 5) c5 = Fma.MultiplyAdd(f5, Vector256.Create(*(float*)(blk + 5 * arb)), c5);
            if (TC.N > 6) c6 = Fma.MultiplyAdd(f6, Vector256.Create(*(float*)(blk + 6 * arb)), c6);
            if (TC.N > 7) c7 = Fma.MultiplyAdd(f7, Vector256.Create(*(float*)(blk + 7 * arb)), c7);
        }
        c0.Store(y);
        if (TC.N > 1) c1.Store(y + yStride);
        if (TC.N > 2) c2.Store(y + 2L * yStride);
        if (TC.N > 3) c3.Store(y + 3L * yStride);
        if (TC.N > 4) c4.Store(y + 4L * yStride);
        if (TC.N > 5) c5.Store(y + 5L * yStride);
        if (TC.N > 6) c6.Store(y + 6L * yStride);
        if (TC.N > 7) c7.Store(y + 7L * yStride);
    }
}
