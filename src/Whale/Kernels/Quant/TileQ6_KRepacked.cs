using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

/// <summary>
/// Q6_K weights repacked at load (<see cref="Q6_KRepacked"/>) × Q8_K activations, for every batch size, in the
/// <em>row-lane order</em> of <see cref="ReferenceDot.Q6_KQ8_KRowLane"/>: per super-block the exact integer sum
/// S = Σ_j sc_j · Σ (q − 32)·a over the 16-value sub-blocks, then f = (float)S · d and acc = fma(f, a.d, acc). Not
/// the order of llama.cpp's AVX2 <c>vec_dot_q6_K_q8_K</c> (kept by <see cref="GemvKQuants"/> and
/// <see cref="TileKQuants"/>); results differ from llama.cpp's by float rounding only.
/// <para>
/// Each sub-block's three 32-byte vectors give its four slices of 4 values × 8 rows (three with one <c>&amp; 0x3F</c>,
/// the fourth from the top two bits of each, moved by GFNI affine transforms and merged), the unsigned operands of
/// AVX-VNNI <c>vpdpbusd</c> with broadcast activation dwords; the accumulator starts at −32·Σa (from the activation
/// quants, as llama.cpp forms it), so the 8 lanes end with the 8 rows' exact sub-block sums. The scale is applied in
/// integers: a byte shuffle splits each sum into its low byte and the rest (two 16-bit halves, exact), and one
/// <c>vpdpwssd</c> with the 16-bit pair (sc, 256·sc) adds sc · sum to the super-block's int32 accumulator; one
/// convert, multiply and FMA per super-block and 8 outputs remain. The scales of a group are decoded once per call
/// into those pairs.
/// </para>
/// <para>
/// With two or more activation rows they are first laid out as 8-row tiles (<see cref="PrepareTiles"/>: per sub-block
/// the 8 rows' starts −32·Σa, then their quants, then the rows' d), so a register tile reads everything at constant
/// offsets from one pointer and each accumulator start is one broadcast load (no address arithmetic or spilled
/// strides per row, as reading the Q8_K rows and their corrections apart needed): 1.10-1.15x the GMAC/s. By the
/// port counts (on this Xeon <c>vpdpbusd</c>, <c>vpdpwssd</c>, GFNI, shifts and float FMAs share two ports) the
/// kernel then runs near 85 % of its bound (4 + 1 per sub-block and row, 3 per sub-block for 8 rows); moving the
/// GFNI work to byte lookups, interleaving four rows' chains or keeping the float accumulators in memory measured no
/// faster.
/// </para>
/// </summary>
internal static unsafe class TileQ6_KRepacked
{
    /// <summary>Activation rows per register tile.</summary>
    private const int ColTile = 8;

    /// <summary>Dwords of decoded metadata per super-block: 16 sub-blocks × 8 rows of 16-bit (sc, 256·sc), 8 f32 d.</summary>
    private const int DecodedFloats = 136;

    /// <summary>Bytes of one Q8_K activation block (f32 d, 256 quants, 16 bsums).</summary>
    private static int ActBlockBytes => sizeof(BlockQ8_K);

    /// <summary>Bytes of one sub-block of a prepared activation tile: <see cref="ColTile"/> int32 starts, then <see cref="ColTile"/> × 16 quants.</summary>
    private const int SubBytes = ColTile * 4 + ColTile * 16;

    /// <summary>Bytes of one super-block of a prepared activation tile: 16 sub-blocks, then <see cref="ColTile"/> f32 d.</summary>
    private const int TileBlockBytes = 16 * SubBytes + ColTile * 4;

    /// <summary>True when this kernel can run (AVX-512 F/VL for 32 registers and EVEX forms, AVX-512 BW, AVX-VNNI, GFNI, FMA).</summary>
    public static bool IsSupported => Avx512F.VL.IsSupported && Avx512BW.VL.IsSupported && AvxVnni.IsSupported && Gfni.V256.IsSupported && Fma.IsSupported;

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
        long fit = RepackedMatrix.ChunkBytes / ((long)nb * (ActBlockBytes + TileBlockBytes / ColTile));
        int chunk = batch <= fit ? batch : (int)Math.Max(ColTile, fit / ColTile * ColTile);
        int tiles = (chunk + ColTile - 1) / ColTile;
        long pBytes = Math.Max((long)tiles * nb * TileBlockBytes, (long)nb * 64), decBytes = (long)nb * DecodedFloats * 4, tileBytes = (long)chunk * G * 4;
        byte* scratch = TileScratch.Get(pBytes + decBytes + tileBytes);
        byte* prepared = scratch;
        var dec = (float*)(scratch + pBytes);
        float* tile = dec + nb * DecodedFloats;
        int g0 = r0 / G, g1 = (r1 + G - 1) / G;
        for (int c0 = 0; c0 < batch; c0 += chunk)
        {
            int cn = Math.Min(chunk, batch - c0);
            byte* ac = a + c0 * aRowBytes;
            if (cn == 1) PrepareCorrections(ac, aRowBytes, cn, nb, (int*)prepared);
            else PrepareTiles(ac, aRowBytes, cn, nb, prepared);
            float* yc = y + (long)c0 * yStride;
            for (int g = g0; g < g1; g++)
            {
                float* o = RepackedMatrix.GroupOutput(g, r0, r1, yc, yStride, tile, out int oStride);
                if (cn == 1)
                {
                    // decode: the scales decoded in registers as the group streams by (no separate pass)
                    One(w.Quants(g), w.Scales(g), w.D(g), ac, (int*)prepared, nb, o);
                }
                else
                {
                    Decode(w.Scales(g), w.D(g), nb, dec);
                    Cols(w.Quants(g), dec, prepared, cn, nb, o, oStride);
                }
                RepackedMatrix.StorePartial(g, r0, r1, tile, cn, yc, yStride);
            }
        }
    }

    /// <summary>
    /// Per activation row, super-block and 16-value sub-block j the accumulator start −32·Σa (the −32 offset of the
    /// quants), from the activation quants (row b's block i at corr + (b · nb + i) · 16).
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
                    *corr++ = -32 * (s.GetElement(0) + s.GetElement(4) - 2048);
                }
        }
    }

    /// <summary>
    /// The activation rows of a chunk as tiles of <see cref="ColTile"/> rows, so that a register tile finds everything at
    /// constant offsets from one pointer: tile t's super-block i at prepared + (t · nb + i) · <see cref="TileBlockBytes"/>,
    /// in it per sub-block j (at j · <see cref="SubBytes"/>) the 8 rows' accumulator starts −32·Σa (int32, row c at 4c),
    /// then their 16 quants (row c at 32 + 16c); after the 16 sub-blocks the rows' f32 d (row c at 16 · SubBytes + 4c).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void PrepareTiles(byte* a, long aRowBytes, int batch, int nb, byte* prepared)
    {
        var flip = Vector128.Create((byte)0x80);
        for (int b = 0; b < batch; b++)
        {
            var blk = (BlockQ8_K*)(a + b * aRowBytes);
            byte* t = prepared + (long)(b / ColTile) * nb * TileBlockBytes;
            int c = b % ColTile;
            for (int i = 0; i < nb; i++, blk++, t += TileBlockBytes)
            {
                for (int j = 0; j < 16; j++)
                {
                    var v = Vector128.Load((sbyte*)blk->Qs + 16 * j);
                    // Σ (a + 128) over 8 bytes per half with psadbw, minus 16·128
                    var s = Sse2.SumAbsoluteDifferences(v.AsByte() ^ flip, Vector128<byte>.Zero);
                    *(int*)(t + j * SubBytes + 4 * c) = -32 * (s.GetElement(0) + s.GetElement(4) - 2048);
                    v.Store((sbyte*)(t + j * SubBytes + 32 + 16 * c));
                }
                *(float*)(t + 16 * SubBytes + 4 * c) = blk->D;
            }
        }
    }

    /// <summary>
    /// Decodes the metadata of one group's <paramref name="nb"/> super-blocks into <paramref name="dec"/>
    /// (<see cref="DecodedFloats"/> dwords per block): for sub-block j the 8 rows' 16-bit pairs (sc, 256·sc) as dwords,
    /// then d as f32.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Decode(byte* scales, ushort* dh, int nb, float* dec)
    {
        var shift = PairShift();
        for (int i = 0; i < nb; i++, scales += Q6_KRepacked.ScaleBytes, dh += 8, dec += DecodedFloats)
        {
            var o = (short*)dec;
            for (int m = 0; m < 4; m++, o += 64)
            {
                var v = Vector256.LoadAligned(scales + 32 * m);
                ScalePair(v, 0, shift).Store(o);
                ScalePair(v, 1, shift).Store(o + 16);
                ScalePair(v, 2, shift).Store(o + 32);
                ScalePair(v, 3, shift).Store(o + 48);
            }
            Fp16.ToFloat8(Vector128.Load(dh)).Store(dec + 128);
        }
    }

    /// <summary>
    /// The 16-bit pairs (sc, 256·sc) of the int8 scale in byte <paramref name="t"/> of each dword of <paramref name="v"/>:
    /// a byte shuffle gives the words sc·257 and sc·256 (bit patterns), an arithmetic shift of the first by 8 sign-extends sc.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> ScalePair(Vector256<byte> v, int t, Vector256<ushort> shift)
    {
        uint c0 = 0x00800000u | (uint)t * 0x01000101u, c1 = c0 + 0x04000404u, c2 = c0 + 0x08000808u, c3 = c0 + 0x0C000C0Cu;
        var x = Avx2.Shuffle(v, Vector256.Create(c0, c1, c2, c3, c0, c1, c2, c3).AsByte()).AsInt16();
        return Avx512BW.VL.ShiftRightArithmeticVariable(x, shift);
    }

    /// <summary>Per-word shift counts (8, 0) of <see cref="ScalePair"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ushort> PairShift() => Vector256.Create(8u).AsUInt16();

    /// <summary>One row group (8 weight rows) against every activation row of the chunk, <see cref="ColTile"/> at a time.</summary>
    private static void Cols(byte* q, float* dec, byte* prepared, int batch, int nb, float* y, int yStride)
    {
        int b = 0;
        long pt = (long)nb * TileBlockBytes;
        for (; b + ColTile <= batch; b += ColTile)
            Tile<TileCount.Eight>(q, dec, prepared + b / ColTile * pt, nb, y + (long)b * yStride, yStride);
        byte* pb = prepared + b / ColTile * pt;
        float* o = y + (long)b * yStride;
        switch (batch - b)
        {
            case 7: Tile<TileCount.Seven>(q, dec, pb, nb, o, yStride); break;
            case 6: Tile<TileCount.Six>(q, dec, pb, nb, o, yStride); break;
            case 5: Tile<TileCount.Five>(q, dec, pb, nb, o, yStride); break;
            case 4: Tile<TileCount.Four>(q, dec, pb, nb, o, yStride); break;
            case 3: Tile<TileCount.Three>(q, dec, pb, nb, o, yStride); break;
            case 2: Tile<TileCount.Two>(q, dec, pb, nb, o, yStride); break;
            case 1: Tile<TileCount.One>(q, dec, pb, nb, o, yStride); break;
        }
    }

    /// <summary>vpshufb control splitting each int32 x into the 16-bit pair (x &amp; 0xFF, x &gt;&gt; 8), exact for |x| &lt; 2^23.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> SplitControl()
        => Vector256.Create(0x02018000u, 0x06058004u, 0x0A098008u, 0x0E0D800Cu, 0x02018000u, 0x06058004u, 0x0A098008u, 0x0E0D800Cu).AsByte();

    /// <summary>
    /// One sub-block for 8 rows (lane r = row r) against one activation row: s + sc · (c + Σ_k vpdpbusd(w_k, a[4k..4k+3]))
    /// in int32, <paramref name="aq"/> the sub-block's 16 activation quants, <paramref name="c"/> its correction,
    /// <paramref name="sc"/> the 16-bit pairs (sc, 256·sc).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Sub(Vector256<int> s, Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        byte* aq, int* c, Vector256<short> sc, Vector256<byte> split)
    {
        var p = (int*)aq;
        // the start as a broadcast load (a load-port uop; from a general register it would take two shuffle-port uops)
        var acc = AvxVnni.MultiplyWideningAndAdd(Avx2.BroadcastScalarToVector256(c), w0, Vector256.Create(p[0]).AsSByte());
        acc = AvxVnni.MultiplyWideningAndAdd(acc, w1, Vector256.Create(p[1]).AsSByte());
        acc = AvxVnni.MultiplyWideningAndAdd(acc, w2, Vector256.Create(p[2]).AsSByte());
        acc = AvxVnni.MultiplyWideningAndAdd(acc, w3, Vector256.Create(p[3]).AsSByte());
        return AvxVnni.MultiplyWideningAndAdd(s, Avx2.Shuffle(acc.AsByte(), split).AsInt16(), sc);
    }

    /// <summary>The end of a super-block for one activation row (its f32 d at <paramref name="ad"/>): acc = fma(f32(s) · d, a.d, acc).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> End(Vector256<float> acc, Vector256<int> s, Vector256<float> d, float* ad)
        => Fma.MultiplyAdd(Avx.ConvertToVector256Single(s) * d, Vector256.Create(*ad), acc);

    /// <summary>
    /// 8 weight rows (one group: super-block i's quants at q + 1536·i, its decoded scales at dec + 136·i) × TC.N
    /// activation rows (1..8) of one prepared tile (<see cref="PrepareTiles"/>; super-block i at tq + i ·
    /// <see cref="TileBlockBytes"/>); output b's 8 values stored at y + b·yStride. With one or two activation rows the
    /// even and odd sub-blocks go to two integer accumulators (shorter dependency chains), added at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TC>(byte* q, float* dec, byte* tq, int nb, float* y, int yStride)
        where TC : struct, TileCount.ICount
    {
        var m = Vector256.Create((byte)0x3F);
        var split = SplitControl();
        // GFNI bit matrices moving bits 6-7 of each byte to bits 0-1 / 2-3 / 4-5 (and clearing the rest)
        var fromA = Vector256.Create(0x4080000000000000ul).AsByte();
        var fromB = Vector256.Create(0x0000408000000000ul).AsByte();
        var fromC = Vector256.Create(0x0000000040800000ul).AsByte();
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int i = 0; i < nb; i++, q += Q6_KRepacked.QuantBytes, dec += DecodedFloats, tq += TileBlockBytes)
        {
            // the group's quants are one sequential stream: ask for a super-block's 24 lines 16 KB ahead into L2
            byte* pf = q + RepackedMatrix.PrefetchBytes;
            for (int l = 0; l < Q6_KRepacked.QuantBytes; l += 64) Sse.Prefetch1(pf + l);
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            Vector256<int> u0 = default, u1 = default;
            byte* qj = q;
            byte* aj = tq;
            var scp = (short*)dec;
            for (int j = 0; j < 16; j += 2, qj += 192, aj += 2 * SubBytes, scp += 32)
            {
                var va = Vector256.LoadAligned(qj);
                var vb = Vector256.LoadAligned(qj + 32);
                var vc = Vector256.LoadAligned(qj + 64);
                var w0 = va & m;
                var w1 = vb & m;
                var w2 = vc & m;
                var w3 = Gfni.V256.GaloisFieldAffineTransform(va, fromA, 0) | Gfni.V256.GaloisFieldAffineTransform(vb, fromB, 0)
                    | Gfni.V256.GaloisFieldAffineTransform(vc, fromC, 0);
                var sc = Vector256.Load(scp);
                s0 = Sub(s0, w0, w1, w2, w3, aj + 32, (int*)aj, sc, split);
                if (TC.N > 1) s1 = Sub(s1, w0, w1, w2, w3, aj + 48, (int*)aj + 1, sc, split);
                if (TC.N > 2) s2 = Sub(s2, w0, w1, w2, w3, aj + 64, (int*)aj + 2, sc, split);
                if (TC.N > 3) s3 = Sub(s3, w0, w1, w2, w3, aj + 80, (int*)aj + 3, sc, split);
                if (TC.N > 4) s4 = Sub(s4, w0, w1, w2, w3, aj + 96, (int*)aj + 4, sc, split);
                if (TC.N > 5) s5 = Sub(s5, w0, w1, w2, w3, aj + 112, (int*)aj + 5, sc, split);
                if (TC.N > 6) s6 = Sub(s6, w0, w1, w2, w3, aj + 128, (int*)aj + 6, sc, split);
                if (TC.N > 7) s7 = Sub(s7, w0, w1, w2, w3, aj + 144, (int*)aj + 7, sc, split);
                // the odd sub-block
                va = Vector256.LoadAligned(qj + 96);
                vb = Vector256.LoadAligned(qj + 128);
                vc = Vector256.LoadAligned(qj + 160);
                w0 = va & m;
                w1 = vb & m;
                w2 = vc & m;
                w3 = Gfni.V256.GaloisFieldAffineTransform(va, fromA, 0) | Gfni.V256.GaloisFieldAffineTransform(vb, fromB, 0)
                    | Gfni.V256.GaloisFieldAffineTransform(vc, fromC, 0);
                sc = Vector256.Load(scp + 16);
                byte* ak = aj + SubBytes;
                if (TC.N <= 2)
                {
                    u0 = Sub(u0, w0, w1, w2, w3, ak + 32, (int*)ak, sc, split);
                    if (TC.N > 1) u1 = Sub(u1, w0, w1, w2, w3, ak + 48, (int*)ak + 1, sc, split);
                    continue;
                }
                s0 = Sub(s0, w0, w1, w2, w3, ak + 32, (int*)ak, sc, split);
                s1 = Sub(s1, w0, w1, w2, w3, ak + 48, (int*)ak + 1, sc, split);
                s2 = Sub(s2, w0, w1, w2, w3, ak + 64, (int*)ak + 2, sc, split);
                if (TC.N > 3) s3 = Sub(s3, w0, w1, w2, w3, ak + 80, (int*)ak + 3, sc, split);
                if (TC.N > 4) s4 = Sub(s4, w0, w1, w2, w3, ak + 96, (int*)ak + 4, sc, split);
                if (TC.N > 5) s5 = Sub(s5, w0, w1, w2, w3, ak + 112, (int*)ak + 5, sc, split);
                if (TC.N > 6) s6 = Sub(s6, w0, w1, w2, w3, ak + 128, (int*)ak + 6, sc, split);
                if (TC.N > 7) s7 = Sub(s7, w0, w1, w2, w3, ak + 144, (int*)ak + 7, sc, split);
            }
            var d = Vector256.Load(dec + 128);
            if (TC.N <= 2)
            {
                s0 += u0;
                s1 += u1;
            }
            var ad = (float*)(tq + 16 * SubBytes);
            c0 = End(c0, s0, d, ad);
            if (TC.N > 1) c1 = End(c1, s1, d, ad + 1);
            if (TC.N > 2) c2 = End(c2, s2, d, ad + 2);
            if (TC.N > 3) c3 = End(c3, s3, d, ad + 3);
            if (TC.N > 4) c4 = End(c4, s4, d, ad + 4);
            if (TC.N > 5) c5 = End(c5, s5, d, ad + 5);
            if (TC.N > 6) c6 = End(c6, s6, d, ad + 6);
            if (TC.N > 7) c7 = End(c7, s7, d, ad + 7);
        }
        TileCount.Store<TC>(y, yStride, c0, c1, c2, c3, c4, c5, c6, c7);
    }

    /// <summary>
    /// One activation row (decode) × one row group: the sums of <see cref="Tile{TC}"/>, with the scales of each super-block
    /// decoded in registers as the group streams by (<see cref="ScalePair"/>), and four integer accumulators (sub-block j
    /// into j mod 4) for short dependency chains. Output: the 8 rows' values at <paramref name="y"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void One(byte* q, byte* scales, ushort* dh, byte* a, int* corr, int nb, float* y)
    {
        var m = Vector256.Create((byte)0x3F);
        var split = SplitControl();
        var shift = PairShift();
        var fromA = Vector256.Create(0x4080000000000000ul).AsByte();
        var fromB = Vector256.Create(0x0000408000000000ul).AsByte();
        var fromC = Vector256.Create(0x0000000040800000ul).AsByte();
        var c = Vector256<float>.Zero;
        byte* blk = a;
        for (int i = 0; i < nb; i++, q += Q6_KRepacked.QuantBytes, scales += Q6_KRepacked.ScaleBytes, dh += 8, blk += ActBlockBytes, corr += 16)
        {
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
            for (int j = 0; j < 16; j += 4)
            {
                var v = Vector256.LoadAligned(scales + 8 * j);
                byte* qj = q + j * 96;
                // these 4 sub-blocks' share of the group stream's prefetches: 6 lines into L2 far ahead, 6 into L1 near
                for (int l = 0; l < 384; l += 64)
                {
                    Sse.Prefetch1(qj + RepackedMatrix.DecodePrefetchBytes + l);
                    Sse.Prefetch0(qj + RepackedMatrix.L1PrefetchBytes + l);
                }
                byte* aj = blk + 4 + 16 * j;
                s0 = OneSub(s0, qj, aj, corr + j, ScalePair(v, 0, shift), m, fromA, fromB, fromC, split);
                s1 = OneSub(s1, qj + 96, aj + 16, corr + j + 1, ScalePair(v, 1, shift), m, fromA, fromB, fromC, split);
                s2 = OneSub(s2, qj + 192, aj + 32, corr + j + 2, ScalePair(v, 2, shift), m, fromA, fromB, fromC, split);
                s3 = OneSub(s3, qj + 288, aj + 48, corr + j + 3, ScalePair(v, 3, shift), m, fromA, fromB, fromC, split);
            }
            var d = Fp16.ToFloat8(Vector128.Load(dh));
            c = Fma.MultiplyAdd(Avx.ConvertToVector256Single((s0 + s1) + (s2 + s3)) * d, Vector256.Create(*(float*)blk), c);
        }
        c.Store(y);
    }

    /// <summary>One sub-block of <see cref="One"/>: its three vectors at <paramref name="qj"/> unpacked into four slices, then <see cref="Sub"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> OneSub(Vector256<int> s, byte* qj, byte* aj, int* c, Vector256<short> sc, Vector256<byte> m,
        Vector256<byte> fromA, Vector256<byte> fromB, Vector256<byte> fromC, Vector256<byte> split)
    {
        var va = Vector256.LoadAligned(qj);
        var vb = Vector256.LoadAligned(qj + 32);
        var vc = Vector256.LoadAligned(qj + 64);
        var w3 = Gfni.V256.GaloisFieldAffineTransform(va, fromA, 0) | Gfni.V256.GaloisFieldAffineTransform(vb, fromB, 0)
            | Gfni.V256.GaloisFieldAffineTransform(vc, fromC, 0);
        return Sub(s, va & m, vb & m, vc & m, w3, aj, c, sc, split);
    }
}
