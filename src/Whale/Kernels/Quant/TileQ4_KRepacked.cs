using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

/// <summary>
/// Q4_K weights repacked at load (<see cref="Q4_KRepacked"/>) × Q8_K activations, for every batch size (decode,
/// continuous batching, prefill), in the <em>row-lane order</em> of <see cref="ReferenceDot.Q4_KQ8_KRowLane"/>: per
/// super-block the exact integer sums S = Σ_j sc_j · Σ q·a (32-value sub-blocks) and imin = Σ_j m_j · s_j, then
/// f = (float)S · d, f = fma((float)imin, −dmin, f), acc = fma(f, a.d, acc). That is not the order of llama.cpp's
/// AVX2 <c>vec_dot_q4_K_q8_K</c> (which <see cref="GemvKQuants"/> and <see cref="TileKQuants"/> keep); results differ
/// from llama.cpp's by float rounding only (weights read in place, <c>WHALE_REPACK=0</c>, keep its bits).
/// <para>
/// Each 256-bit register holds 4 quants of two sub-blocks of 8 weight rows (a low and a high nibble per byte), so one
/// AVX-VNNI <c>vpdpbusd</c> with a broadcast activation dword advances 8 outputs by 4 products (the nibbles are the
/// unsigned operands, the Q8_K activations the signed ones; nothing needs an offset). A sub-block's 8 instructions
/// leave the 8 rows' integer sums in the 8 lanes; the 6-bit scale is applied in integers: a byte shuffle splits each
/// sum into its low byte and the rest (two 16-bit halves, exact), and one <c>vpdpwssd</c> with the 16-bit pair
/// (sc, 256·sc) adds sc · sum to the super-block's accumulator. The mins term is 4 more <c>vpdpwssd</c> (16-bit min
/// pairs × the activation's 16-bit pair sums); two converts, a multiply and two FMAs per super-block serve 8 outputs.
/// The scales and mins of a group are decoded once per call, shared by every activation row. From
/// <see cref="UnpackMinBatch"/> activation rows the quants of a group are also unpacked once per chunk, 8 super-blocks
/// at a time (<see cref="Unpack{TB}"/>: nibbles to bytes, Q5_K's fifth bits merged), and the tiles load the bytes: the
/// unpacking left the vector ports that the <c>vpdpbusd</c> need (measured 2-7 % faster from 64 rows, slower below).
/// </para>
/// <para>
/// Every output is computed the same way whatever the batch, the row range or the thread split, so a sequence's
/// results do not depend on what it was batched with.
/// </para>
/// </summary>
internal static unsafe class TileQ4_KRepacked
{
    /// <summary>Activation rows per register tile.</summary>
    private const int ColTile = 8;

    /// <summary>Bytes of one super-block of a prepared activation tile: 8 sub-blocks × <see cref="ColTile"/> rows × 32 quants.</summary>
    private const int TileBlockBytes = 8 * ColTile * 32;

    /// <summary>Dwords of decoded metadata per super-block: 8 × 8 scale pairs (sc, 256·sc), 4 × 8 min pairs, 8 f32 d, 8 f32 −dmin.</summary>
    private const int DecodedFloats = 112;

    /// <summary>Bytes of one super-block of a group's unpacked quants (<see cref="Unpack{TB}"/>): 8 sub-blocks × 8 slices × 32.</summary>
    private const int UnpackedBytes = 2048;

    /// <summary>
    /// Activation rows from which a chunk unpacks each group's quants once (<see cref="Cols{TB}"/>); fewer share too
    /// little of the unpacking, and each tile unpacks the nibbles itself (<see cref="ColsNibbles{TB}"/>).
    /// </summary>
    private const int UnpackMinBatch = 64;

    /// <summary>Super-blocks unpacked at a time: 16 KB of unpacked quants and 16 KB of an activation tile stay in L1.</summary>
    private const int KBlock = 8;

    /// <summary>Bytes of Q5_K's fifth bits per super-block of a group (8 sub-blocks × 32).</summary>
    private const int FifthBitBytes = 256;

    /// <summary>Bytes of one Q8_K activation block (f32 d, 256 quants, 16 bsums).</summary>
    private static int ActBlockBytes => sizeof(BlockQ8_K);

    /// <summary>True when this kernel can run (AVX-512 F/VL for 32 registers and EVEX forms, AVX-VNNI, FMA).</summary>
    public static bool IsSupported => Avx512F.VL.IsSupported && AvxVnni.IsSupported && Fma.IsSupported;

    /// <summary>
    /// y[b * yStride + r] = dot(W[r], A[b]) for r in [r0, r1), b in [0, batch): A rows of <paramref name="aRowBytes"/>
    /// bytes of Q8_K blocks at <paramref name="a"/>. Any row range works; groups cut by the range (or padded at the end
    /// of the matrix) are computed into a scratch tile and only their rows in range stored. Uses a per-thread scratch
    /// buffer (grown on first use, then reused).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MatMul(Q4_KRepacked w, int r0, int r1, byte* a, long aRowBytes, int batch, float* y, int yStride)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (r0 >= r1 || batch <= 0) return;
        Run<Q4Bits>(w.Base, w.GroupBytes, 0, (long)w.Blocks * Q4_KRepacked.QuantBytes, w.Blocks, r0, r1, a, aRowBytes, batch, y, yStride);
    }

    /// <summary>
    /// The product over groups of <paramref name="groupBytes"/> from <paramref name="base"/>, each with its quants first
    /// (1024 bytes per super-block), its fifth bits at <paramref name="hbOffset"/> (Q5_K, 256 bytes per super-block) and
    /// its metadata at <paramref name="metaOffset"/> (128 bytes per super-block); see <see cref="MatMul"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Run<TB>(byte* @base, long groupBytes, long hbOffset, long metaOffset, int nb, int r0, int r1,
        byte* a, long aRowBytes, int batch, float* y, int yStride)
        where TB : struct, IKBits
    {
        const int G = Q4_KRepacked.GroupRows;
        long fit = RepackedMatrix.ChunkBytes / ((long)nb * (ActBlockBytes + 16 + 256));
        int chunk = batch <= fit ? batch : (int)Math.Max(ColTile, fit / ColTile * ColTile);
        int tiles = (chunk + ColTile - 1) / ColTile;
        long sBytes = (long)chunk * nb * 16, decBytes = (long)nb * DecodedFloats * 4, tileBytes = (long)chunk * G * 4;
        long pBytes = (long)tiles * nb * TileBlockBytes;
        long uBytes = chunk >= UnpackMinBatch ? KBlock * UnpackedBytes : 0;
        byte* scratch = TileScratch.Get(pBytes + uBytes + sBytes + decBytes + tileBytes);
        byte* prepared = scratch;
        byte* unpacked = scratch + pBytes;
        var sums = (int*)(scratch + pBytes + uBytes);
        var dec = (float*)(scratch + pBytes + uBytes + sBytes);
        float* tile = dec + nb * DecodedFloats;
        int g0 = r0 / G, g1 = (r1 + G - 1) / G;
        for (int c0 = 0; c0 < batch; c0 += chunk)
        {
            int cn = Math.Min(chunk, batch - c0);
            byte* ac = a + c0 * aRowBytes;
            PrepareSums(ac, aRowBytes, cn, nb, sums);
            if (cn > 1) PrepareQuants(ac, aRowBytes, cn, nb, prepared);
            float* yc = y + (long)c0 * yStride;
            for (int g = g0; g < g1; g++)
            {
                float* o = RepackedMatrix.GroupOutput(g, r0, r1, yc, yStride, tile, out int oStride);
                byte* q = @base + g * groupBytes;
                if (cn == 1)
                {
                    // decode: the metadata decoded in registers as the group streams by (no separate pass)
                    One<TB>(q, q + hbOffset, q + metaOffset, ac, sums, nb, o);
                }
                else
                {
                    Decode(q + metaOffset, nb, dec);
                    if (cn >= UnpackMinBatch) Cols<TB>(q, q + hbOffset, unpacked, dec, ac, aRowBytes, prepared, sums, cn, nb, o, oStride);
                    else ColsNibbles<TB>(q, q + hbOffset, dec, ac, aRowBytes, prepared, sums, cn, nb, o, oStride);
                }
                RepackedMatrix.StorePartial(g, r0, r1, tile, cn, yc, yStride);
            }
        }
    }

    /// <summary>Compile-time switch of the shared kernels: quants of 4 bits (Q4_K) or with a fifth bit stored apart (Q5_K).</summary>
    internal interface IKBits
    {
        static abstract bool HasFifthBit { get; }
    }

    /// <summary>Q4_K: the nibbles only.</summary>
    internal struct Q4Bits : IKBits
    {
        public static bool HasFifthBit => false;
    }

    /// <summary>Q5_K: the nibbles and, per sub-block, a 32-byte vector whose bit k of byte r·4+t is bit 4 of slice k's value t of row r.</summary>
    internal struct Q5Bits : IKBits
    {
        public static bool HasFifthBit => true;
    }

    /// <summary>
    /// Slice k of a sub-block for 8 rows as unsigned quants: the low (or high) nibbles of the vector at qp + 32k and, for
    /// Q5_K, bit k of each byte of the sub-block's fifth-bit vector <paramref name="h"/> moved to bit 4 (a GFNI affine
    /// transform).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Slice<TB>(byte* qp, int k, bool high, Vector256<byte> h, Vector256<byte> lo)
        where TB : struct, IKBits
    {
        var v = Vector256.LoadAligned(qp + 32 * k);
        var w = high ? High(v, lo) : v & lo;
        if (TB.HasFifthBit) w |= Gfni.V256.GaloisFieldAffineTransform(h, Vector256.Create((1ul << k) << 24).AsByte(), 0);
        return w;
    }

    /// <summary>The fifth-bit vector of sub-block <paramref name="j"/> of the super-block at <paramref name="hb"/> (Q5_K), else zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> FifthBits<TB>(byte* hb, int j) where TB : struct, IKBits
        => TB.HasFifthBit ? Vector256.LoadAligned(hb + 32 * j) : default;

    /// <summary>
    /// The activation quants of a chunk as tiles of <see cref="ColTile"/> rows: tile t's super-block i at
    /// prepared + (t · nb + i) · <see cref="TileBlockBytes"/>, in it sub-block j of row c at (j · 8 + c) · 32, so a
    /// register tile finds every row's sub-block at a constant offset from one pointer.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void PrepareQuants(byte* a, long aRowBytes, int batch, int nb, byte* prepared)
    {
        for (int b = 0; b < batch; b++)
        {
            var blk = (BlockQ8_K*)(a + b * aRowBytes);
            byte* t = prepared + (long)(b / ColTile) * nb * TileBlockBytes + b % ColTile * 32;
            for (int i = 0; i < nb; i++, blk++, t += TileBlockBytes)
                for (int j = 0; j < 8; j++)
                    Vector256.Load((sbyte*)blk->Qs + 32 * j).Store((sbyte*)(t + j * ColTile * 32));
        }
    }

    /// <summary>
    /// Per activation row and super-block the 8 sub-block sums from the bsums, (short)(bsums[2j] + bsums[2j+1]) as
    /// llama.cpp's AVX2 dot forms them, as 4 dwords of 16-bit pairs (row b's block i at sums + (b · nb + i) · 4).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void PrepareSums(byte* a, long aRowBytes, int batch, int nb, int* sums)
    {
        for (int b = 0; b < batch; b++)
        {
            var blk = (BlockQ8_K*)(a + b * aRowBytes);
            for (int i = 0; i < nb; i++, blk++, sums += 4)
                Ssse3.HorizontalAdd(Vector128.Load(blk->BSums), Vector128.Load(blk->BSums + 8)).Store((short*)sums);
        }
    }

    /// <summary>
    /// Decodes the metadata of one group's <paramref name="nb"/> super-blocks into <paramref name="dec"/>
    /// (<see cref="DecodedFloats"/> dwords per block): the 16-bit pairs (sc, 256·sc) of sub-blocks 0..7, the min pairs
    /// m[2p] | m[2p+1] &lt;&lt; 16 for p = 0..3, d and −dmin as f32 (8 lanes each).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Decode(byte* meta, int nb, float* dec)
    {
        var k1 = Vector256.Create(0x3f3f3f3fu);
        var k2 = Vector256.Create(0x0f0f0f0fu);
        var k3 = Vector256.Create(0x30303030u);
        for (int i = 0; i < nb; i++, meta += Q4_KRepacked.MetaBytes, dec += DecodedFloats)
        {
            var u0 = Vector256.LoadAligned((uint*)meta);
            var u1 = Vector256.LoadAligned((uint*)(meta + 32));
            var u2 = Vector256.LoadAligned((uint*)(meta + 64));
            // ggml's utmp unpacking per lane: bytes 0-3 of sLo / sHi are sc 0-3 / 4-7, of mLo / mHi m 0-3 / 4-7
            var sLo = (u0 & k1).AsByte();
            var sHi = ((u2 & k2) | (Vector256.ShiftRightLogical(u0, 2) & k3)).AsByte();
            var mLo = (u1 & k1).AsByte();
            var mHi = ((Vector256.ShiftRightLogical(u2, 4) & k2) | (Vector256.ShiftRightLogical(u1, 2) & k3)).AsByte();
            Avx2.Shuffle(sLo, ScalePair(0)).AsSingle().Store(dec);
            Avx2.Shuffle(sLo, ScalePair(1)).AsSingle().Store(dec + 8);
            Avx2.Shuffle(sLo, ScalePair(2)).AsSingle().Store(dec + 16);
            Avx2.Shuffle(sLo, ScalePair(3)).AsSingle().Store(dec + 24);
            Avx2.Shuffle(sHi, ScalePair(0)).AsSingle().Store(dec + 32);
            Avx2.Shuffle(sHi, ScalePair(1)).AsSingle().Store(dec + 40);
            Avx2.Shuffle(sHi, ScalePair(2)).AsSingle().Store(dec + 48);
            Avx2.Shuffle(sHi, ScalePair(3)).AsSingle().Store(dec + 56);
            Avx2.Shuffle(mLo, PairOfDword(0)).AsSingle().Store(dec + 64);
            Avx2.Shuffle(mLo, PairOfDword(1)).AsSingle().Store(dec + 72);
            Avx2.Shuffle(mHi, PairOfDword(0)).AsSingle().Store(dec + 80);
            Avx2.Shuffle(mHi, PairOfDword(1)).AsSingle().Store(dec + 88);
            Fp16.ToFloat8(Vector128.Load((ushort*)(meta + 96))).Store(dec + 96);
            (-Fp16.ToFloat8(Vector128.Load((ushort*)(meta + 112)))).Store(dec + 104);
        }
    }

    /// <summary>vpshufb control: byte <paramref name="j"/> of each dword (a 6-bit scale sc) as the 16-bit pair (sc, 256·sc).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> ScalePair(int j)
    {
        uint c0 = 0x00808000u | (uint)j | (uint)j << 24, c1 = c0 + 0x04000004u, c2 = c0 + 0x08000008u, c3 = c0 + 0x0C00000Cu;
        return Vector256.Create(c0, c1, c2, c3, c0, c1, c2, c3).AsByte();
    }

    /// <summary>vpshufb control splitting each int32 x into the 16-bit pair (x &amp; 0xFF, x &gt;&gt; 8), exact for |x| &lt; 2^23.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> SplitControl()
        => Vector256.Create(0x02018000u, 0x06058004u, 0x0A098008u, 0x0E0D800Cu, 0x02018000u, 0x06058004u, 0x0A098008u, 0x0E0D800Cu).AsByte();

    /// <summary>vpshufb control: bytes 2s and 2s+1 of each dword, zero-extended to the dword's two 16-bit halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> PairOfDword(int s)
    {
        uint c0 = 0x80008000u | (uint)(2 * s) | (uint)(2 * s + 1) << 16, c1 = c0 + 0x00040004u, c2 = c0 + 0x00080008u, c3 = c0 + 0x000C000Cu;
        return Vector256.Create(c0, c1, c2, c3, c0, c1, c2, c3).AsByte();
    }

    /// <summary>
    /// The quants of one group's <paramref name="nb"/> super-blocks as unsigned bytes, once per group and chunk, so the
    /// tiles (one per <see cref="ColTile"/> activation rows) load them instead of unpacking nibbles (and, for Q5_K,
    /// merging the fifth bits) each time: slice k of sub-block j of super-block i (values 4k..4k+3 of the 8 rows, byte
    /// r·4+t) at <paramref name="u"/> + i·2048 + j·256 + k·32.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Unpack<TB>(byte* q, byte* hb, int nb, byte* u)
        where TB : struct, IKBits
    {
        var lo = Vector256.Create((byte)0x0F);
        for (int i = 0; i < nb; i++, q += Q4_KRepacked.QuantBytes, hb += FifthBitBytes, u += UnpackedBytes)
            for (int p = 0; p < 4; p++)
            {
                byte* qp = q + p * 256;
                byte* ul = u + p * 512;
                var h = FifthBits<TB>(hb, 2 * p);
                var g = FifthBits<TB>(hb, 2 * p + 1);
                for (int k = 0; k < 8; k++)
                {
                    Slice<TB>(qp, k, false, h, lo).StoreAligned(ul + 32 * k);
                    Slice<TB>(qp, k, true, g, lo).StoreAligned(ul + 256 + 32 * k);
                }
            }
    }

    /// <summary>
    /// One row group (8 weight rows) against a few activation rows (fewer than <see cref="UnpackMinBatch"/>),
    /// <see cref="ColTile"/> at a time, the nibbles unpacked in registers by each tile (<see cref="TileNibbles{TC, TB}"/>).
    /// </summary>
    private static void ColsNibbles<TB>(byte* q, byte* hb, float* dec, byte* a, long arb, byte* prepared, int* sums, int batch, int nb, float* y, int yStride)
        where TB : struct, IKBits
    {
        int b = 0;
        long pt = (long)nb * TileBlockBytes;
        for (; b + ColTile <= batch; b += ColTile)
            TileNibbles<TileCount.Eight, TB>(q, hb, dec, a + b * arb, arb, prepared + b / ColTile * pt, sums + b * nb * 4, nb, y + (long)b * yStride, yStride);
        byte* ab = a + b * arb;
        byte* pb = prepared + b / ColTile * pt;
        int* sb = sums + b * nb * 4;
        float* o = y + (long)b * yStride;
        switch (batch - b)
        {
            case 7: TileNibbles<TileCount.Seven, TB>(q, hb, dec, ab, arb, pb, sb, nb, o, yStride); break;
            case 6: TileNibbles<TileCount.Six, TB>(q, hb, dec, ab, arb, pb, sb, nb, o, yStride); break;
            case 5: TileNibbles<TileCount.Five, TB>(q, hb, dec, ab, arb, pb, sb, nb, o, yStride); break;
            case 4: TileNibbles<TileCount.Four, TB>(q, hb, dec, ab, arb, pb, sb, nb, o, yStride); break;
            case 3: TileNibbles<TileCount.Three, TB>(q, hb, dec, ab, arb, pb, sb, nb, o, yStride); break;
            case 2: TileNibbles<TileCount.Two, TB>(q, hb, dec, ab, arb, pb, sb, nb, o, yStride); break;
            case 1: TileNibbles<TileCount.One, TB>(q, hb, dec, ab, arb, pb, sb, nb, o, yStride); break;
        }
    }

    /// <summary>
    /// One row group (8 weight rows: quants at <paramref name="q"/>, Q5_K's fifth bits at <paramref name="hb"/>, decoded
    /// metadata at <paramref name="dec"/>) against every activation row of the chunk: <see cref="KBlock"/> super-blocks
    /// at a time unpacked into <paramref name="u"/>, then every tile of <see cref="ColTile"/> activation rows over them.
    /// </summary>
    private static void Cols<TB>(byte* q, byte* hb, byte* u, float* dec, byte* a, long arb, byte* prepared, int* sums, int batch, int nb, float* y, int yStride)
        where TB : struct, IKBits
    {
        long pt = (long)nb * TileBlockBytes;
        for (int i0 = 0; i0 < nb; i0 += KBlock)
        {
            int kn = Math.Min(KBlock, nb - i0);
            Unpack<TB>(q + (long)i0 * Q4_KRepacked.QuantBytes, hb + (long)i0 * FifthBitBytes, kn, u);
            float* d = dec + i0 * DecodedFloats;
            bool first = i0 == 0;
            int b = 0;
            for (; b + ColTile <= batch; b += ColTile)
                Tile<TileCount.Eight>(u, d, a + b * arb + i0 * ActBlockBytes, arb, prepared + b / ColTile * pt + (long)i0 * TileBlockBytes,
                    sums + (b * nb + i0) * 4, nb, kn, first, y + (long)b * yStride, yStride);
            byte* ab = a + b * arb + i0 * ActBlockBytes;
            byte* pb = prepared + b / ColTile * pt + (long)i0 * TileBlockBytes;
            int* sb = sums + (b * nb + i0) * 4;
            float* o = y + (long)b * yStride;
            switch (batch - b)
            {
                case 7: Tile<TileCount.Seven>(u, d, ab, arb, pb, sb, nb, kn, first, o, yStride); break;
                case 6: Tile<TileCount.Six>(u, d, ab, arb, pb, sb, nb, kn, first, o, yStride); break;
                case 5: Tile<TileCount.Five>(u, d, ab, arb, pb, sb, nb, kn, first, o, yStride); break;
                case 4: Tile<TileCount.Four>(u, d, ab, arb, pb, sb, nb, kn, first, o, yStride); break;
                case 3: Tile<TileCount.Three>(u, d, ab, arb, pb, sb, nb, kn, first, o, yStride); break;
                case 2: Tile<TileCount.Two>(u, d, ab, arb, pb, sb, nb, kn, first, o, yStride); break;
                case 1: Tile<TileCount.One>(u, d, ab, arb, pb, sb, nb, kn, first, o, yStride); break;
            }
        }
    }

    /// <summary>
    /// One sub-block for 8 rows (lane r = row r) against one activation row: s + sc · Σ_k vpdpbusd(w_k, a[4k..4k+3]) in
    /// int32, <paramref name="aq"/> the sub-block's 32 activation quants, <paramref name="sc"/> the pairs (sc, 256·sc).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Sub(Vector256<int> s, Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7, byte* aq, Vector256<short> sc, Vector256<byte> split)
    {
        var p = (int*)aq;
        // two chains of four (slices 0-3, 4-7): shorter dependency chains keep more of them in flight
        var acc = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, w0, Vector256.Create(p[0]).AsSByte());
        var acd = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, w4, Vector256.Create(p[4]).AsSByte());
        acc = AvxVnni.MultiplyWideningAndAdd(acc, w1, Vector256.Create(p[1]).AsSByte());
        acd = AvxVnni.MultiplyWideningAndAdd(acd, w5, Vector256.Create(p[5]).AsSByte());
        acc = AvxVnni.MultiplyWideningAndAdd(acc, w2, Vector256.Create(p[2]).AsSByte());
        acd = AvxVnni.MultiplyWideningAndAdd(acd, w6, Vector256.Create(p[6]).AsSByte());
        acc = AvxVnni.MultiplyWideningAndAdd(acc, w3, Vector256.Create(p[3]).AsSByte());
        acd = AvxVnni.MultiplyWideningAndAdd(acd, w7, Vector256.Create(p[7]).AsSByte());
        return AvxVnni.MultiplyWideningAndAdd(s, Avx2.Shuffle((acc + acd).AsByte(), split).AsInt16(), sc);
    }

    /// <summary>
    /// The end of a super-block for one activation row (its Q8_K block at <paramref name="blk"/>, its pair sums at
    /// <paramref name="ps"/>): f = f32(s) · d, f = fma(f32(Σ m·ps), −dmin, f), acc = fma(f, a.d, acc).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> End(Vector256<float> acc, Vector256<int> s, byte* blk, int* ps, float* dec)
    {
        var imin = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Vector256.Load((short*)(dec + 64)), Vector256.Create(ps[0]).AsInt16());
        imin = AvxVnni.MultiplyWideningAndAdd(imin, Vector256.Load((short*)(dec + 72)), Vector256.Create(ps[1]).AsInt16());
        imin = AvxVnni.MultiplyWideningAndAdd(imin, Vector256.Load((short*)(dec + 80)), Vector256.Create(ps[2]).AsInt16());
        imin = AvxVnni.MultiplyWideningAndAdd(imin, Vector256.Load((short*)(dec + 88)), Vector256.Create(ps[3]).AsInt16());
        var f = Avx.ConvertToVector256Single(s) * Vector256.Load(dec + 96);
        f = Fma.MultiplyAdd(Avx.ConvertToVector256Single(imin), Vector256.Load(dec + 104), f);
        return Fma.MultiplyAdd(f, Vector256.Create(*(float*)blk), acc);
    }

    /// <summary>
    /// <see cref="End"/> of a super-block for the TC.N activation rows of a tile: row b's sums s_b, its Q8_K block at
    /// blk + b·arb and its pair sums at si + b·ss.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Ends<TC>(ref Vector256<float> c0, ref Vector256<float> c1, ref Vector256<float> c2, ref Vector256<float> c3,
        ref Vector256<float> c4, ref Vector256<float> c5, ref Vector256<float> c6, ref Vector256<float> c7,
        Vector256<int> s0, Vector256<int> s1, Vector256<int> s2, Vector256<int> s3,
        Vector256<int> s4, Vector256<int> s5, Vector256<int> s6, Vector256<int> s7,
        byte* blk, long arb, int* si, long ss, float* dec)
        where TC : struct, TileCount.ICount
    {
        c0 = End(c0, s0, blk, si, dec);
        if (TC.N > 1) c1 = End(c1, s1, blk + arb, si + ss, dec);
        if (TC.N > 2) c2 = End(c2, s2, blk + 2 * arb, si + 2 * ss, dec);
        if (TC.N > 3) c3 = End(c3, s3, blk + 3 * arb, si + 3 * ss, dec);
        if (TC.N > 4) c4 = End(c4, s4, blk + 4 * arb, si + 4 * ss, dec);
        if (TC.N > 5) c5 = End(c5, s5, blk + 5 * arb, si + 5 * ss, dec);
        if (TC.N > 6) c6 = End(c6, s6, blk + 6 * arb, si + 6 * ss, dec);
        if (TC.N > 7) c7 = End(c7, s7, blk + 7 * arb, si + 7 * ss, dec);
    }

    /// <summary>The high nibbles of <paramref name="v"/> in the low four bits of each byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> High(Vector256<byte> v, Vector256<byte> lo) => Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & lo;

    /// <summary>
    /// 8 weight rows (one group) over <paramref name="kn"/> super-blocks (super-block i's unpacked quants at u + 2048·i
    /// (<see cref="Unpack{TB}"/>), its decoded metadata at dec + 112·i) × TC.N activation rows (1..8, their Q8_K blocks
    /// <paramref name="arb"/> bytes apart from <paramref name="a"/>; their pair sums nb · 4 ints apart from
    /// <paramref name="sums"/>); output b's 8 values at y + b·yStride, where the sums of the earlier super-blocks are
    /// (unless <paramref name="first"/>): the float accumulation goes on in the same order as in one pass.
    /// With one or two activation rows the even and odd sub-blocks go to two integer accumulators (shorter dependency
    /// chains), added at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TC>(byte* u, float* dec, byte* a, long arb, byte* tq, int* sums, int nb, int kn, bool first, float* y, int yStride)
        where TC : struct, TileCount.ICount
    {
        var split = SplitControl();
        long ss = nb * 4;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        if (!first)
        {
            c0 = Vector256.Load(y);
            if (TC.N > 1) c1 = Vector256.Load(y + yStride);
            if (TC.N > 2) c2 = Vector256.Load(y + 2L * yStride);
            if (TC.N > 3) c3 = Vector256.Load(y + 3L * yStride);
            if (TC.N > 4) c4 = Vector256.Load(y + 4L * yStride);
            if (TC.N > 5) c5 = Vector256.Load(y + 5L * yStride);
            if (TC.N > 6) c6 = Vector256.Load(y + 6L * yStride);
            if (TC.N > 7) c7 = Vector256.Load(y + 7L * yStride);
        }
        byte* blk = a;
        for (int i = 0; i < kn; i++, u += UnpackedBytes, dec += DecodedFloats, blk += ActBlockBytes, tq += TileBlockBytes)
        {
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            Vector256<int> u0 = default, u1 = default;
            for (int j = 0; j < 8; j += 2)
            {
                SubBlock<TC>(u + j * 256, tq + j * ColTile * 32, dec + 8 * j, split, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
                if (TC.N <= 2)
                    SubBlock<TC>(u + j * 256 + 256, tq + (j + 1) * ColTile * 32, dec + 8 * j + 8, split, ref u0, ref u1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
                else
                    SubBlock<TC>(u + j * 256 + 256, tq + (j + 1) * ColTile * 32, dec + 8 * j + 8, split, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            }
            if (TC.N <= 2)
            {
                s0 += u0;
                s1 += u1;
            }
            Ends<TC>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, ref c6, ref c7, s0, s1, s2, s3, s4, s5, s6, s7, blk, arb, sums + i * 4, ss, dec);
        }
        TileCount.Store<TC>(y, yStride, c0, c1, c2, c3, c4, c5, c6, c7);
    }

    /// <summary>
    /// One sub-block of <see cref="Tile{TC}"/>: its 8 unpacked slices at <paramref name="w"/>, its activation quants at
    /// <paramref name="ap"/> + 32·c for row c, its scale pairs at <paramref name="sc"/>; <see cref="Sub"/> per row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SubBlock<TC>(byte* w, byte* ap, float* sc, Vector256<byte> split,
        ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3,
        ref Vector256<int> s4, ref Vector256<int> s5, ref Vector256<int> s6, ref Vector256<int> s7)
        where TC : struct, TileCount.ICount
    {
        var scale = Vector256.Load((short*)sc);
        var w0 = Vector256.LoadAligned(w); var w1 = Vector256.LoadAligned(w + 32);
        var w2 = Vector256.LoadAligned(w + 64); var w3 = Vector256.LoadAligned(w + 96);
        var w4 = Vector256.LoadAligned(w + 128); var w5 = Vector256.LoadAligned(w + 160);
        var w6 = Vector256.LoadAligned(w + 192); var w7 = Vector256.LoadAligned(w + 224);
        SubRows<TC>(w0, w1, w2, w3, w4, w5, w6, w7, ap, scale, split, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
    }

    /// <summary>
    /// <see cref="Sub"/> of one sub-block's 8 weight slices for each of the TC.N activation rows (row c's quants at
    /// <paramref name="ap"/> + 32·c) into its sums s_c.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SubRows<TC>(Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7, byte* ap, Vector256<short> scale, Vector256<byte> split,
        ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3,
        ref Vector256<int> s4, ref Vector256<int> s5, ref Vector256<int> s6, ref Vector256<int> s7)
        where TC : struct, TileCount.ICount
    {
        s0 = Sub(s0, w0, w1, w2, w3, w4, w5, w6, w7, ap, scale, split);
        if (TC.N > 1) s1 = Sub(s1, w0, w1, w2, w3, w4, w5, w6, w7, ap + 32, scale, split);
        if (TC.N > 2) s2 = Sub(s2, w0, w1, w2, w3, w4, w5, w6, w7, ap + 64, scale, split);
        if (TC.N > 3) s3 = Sub(s3, w0, w1, w2, w3, w4, w5, w6, w7, ap + 96, scale, split);
        if (TC.N > 4) s4 = Sub(s4, w0, w1, w2, w3, w4, w5, w6, w7, ap + 128, scale, split);
        if (TC.N > 5) s5 = Sub(s5, w0, w1, w2, w3, w4, w5, w6, w7, ap + 160, scale, split);
        if (TC.N > 6) s6 = Sub(s6, w0, w1, w2, w3, w4, w5, w6, w7, ap + 192, scale, split);
        if (TC.N > 7) s7 = Sub(s7, w0, w1, w2, w3, w4, w5, w6, w7, ap + 224, scale, split);
    }

    /// <summary>
    /// <see cref="Tile{TC}"/> for batches below <see cref="UnpackMinBatch"/>, reading the packed quants: 8 weight rows (one group: super-block i's quants at q + 1024·i, Q5_K's fifth bits at hb + 256·i, its decoded
    /// metadata at dec + 112·i) × TC.N
    /// activation rows (1..8, <paramref name="arb"/> bytes apart from <paramref name="a"/>; their pair sums nb · 4 ints
    /// apart from <paramref name="sums"/>); output b's 8 values stored at y + b·yStride. With one or two activation rows
    /// the low- and high-nibble sub-blocks go to two integer accumulators (shorter dependency chains), added at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TileNibbles<TC, TB>(byte* q, byte* hb, float* dec, byte* a, long arb, byte* tq, int* sums, int nb, float* y, int yStride)
        where TC : struct, TileCount.ICount
        where TB : struct, IKBits
    {
        var lo = Vector256.Create((byte)0x0F);
        var split = SplitControl();
        long ss = nb * 4;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        byte* blk = a;
        for (int i = 0; i < nb; i++, q += Q4_KRepacked.QuantBytes, hb += FifthBitBytes, dec += DecodedFloats, blk += ActBlockBytes, tq += TileBlockBytes)
        {
            // the group's quants are one sequential stream: ask for a super-block's 16 lines 16 KB ahead into L2
            byte* pf = q + RepackedMatrix.PrefetchBytes;
            for (int l = 0; l < Q4_KRepacked.QuantBytes; l += 64) Sse.Prefetch1(pf + l);
            if (TB.HasFifthBit)
                for (int l = 0; l < FifthBitBytes; l += 64) Sse.Prefetch1(hb + RepackedMatrix.PrefetchBytes / 4 + l);
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            Vector256<int> u0 = default, u1 = default;
            for (int p = 0; p < 4; p++)
            {
                byte* qp = q + p * 256;
                byte* ap = tq + 2 * ColTile * 32 * p;
                var sc = Vector256.Load((short*)(dec + 16 * p));
                var h = FifthBits<TB>(hb, 2 * p);
                var w0 = Slice<TB>(qp, 0, false, h, lo); var w1 = Slice<TB>(qp, 1, false, h, lo);
                var w2 = Slice<TB>(qp, 2, false, h, lo); var w3 = Slice<TB>(qp, 3, false, h, lo);
                var w4 = Slice<TB>(qp, 4, false, h, lo); var w5 = Slice<TB>(qp, 5, false, h, lo);
                var w6 = Slice<TB>(qp, 6, false, h, lo); var w7 = Slice<TB>(qp, 7, false, h, lo);
                SubRows<TC>(w0, w1, w2, w3, w4, w5, w6, w7, ap, sc, split, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
                sc = Vector256.Load((short*)(dec + 16 * p + 8));
                ap += ColTile * 32;
                h = FifthBits<TB>(hb, 2 * p + 1);
                w0 = Slice<TB>(qp, 0, true, h, lo); w1 = Slice<TB>(qp, 1, true, h, lo);
                w2 = Slice<TB>(qp, 2, true, h, lo); w3 = Slice<TB>(qp, 3, true, h, lo);
                w4 = Slice<TB>(qp, 4, true, h, lo); w5 = Slice<TB>(qp, 5, true, h, lo);
                w6 = Slice<TB>(qp, 6, true, h, lo); w7 = Slice<TB>(qp, 7, true, h, lo);
                if (TC.N <= 2)
                    SubRows<TC>(w0, w1, w2, w3, w4, w5, w6, w7, ap, sc, split, ref u0, ref u1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
                else
                    SubRows<TC>(w0, w1, w2, w3, w4, w5, w6, w7, ap, sc, split, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            }
            if (TC.N <= 2)
            {
                s0 += u0;
                s1 += u1;
            }
            Ends<TC>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, ref c6, ref c7, s0, s1, s2, s3, s4, s5, s6, s7, blk, arb, sums + i * 4, ss, dec);
        }
        TileCount.Store<TC>(y, yStride, c0, c1, c2, c3, c4, c5, c6, c7);
    }

    /// <summary>
    /// One activation row (decode) × one row group: the sums of <see cref="Tile{TC}"/>, with each super-block's scales,
    /// mins, d and dmin decoded in registers as the group streams by, and four integer accumulators (sub-block j into
    /// j mod 4) for short dependency chains. Output: the 8 rows' values at <paramref name="y"/>.
    /// <para>
    /// Q4_K's high nibbles are not shifted down: the products take them in place (<c>v &amp; 0xF0</c>, 16 × the
    /// quant), so the odd sub-blocks' accumulators (s1, s3) hold 16 × their sums, divided out exactly by one shift per
    /// super-block (|16 · Σ q·a| &lt; 2^20 per sub-block keeps <see cref="Sub"/>'s split exact). One vector operation per
    /// 32 bytes fewer; the integers, and so the results, are those of the shifted form.
    /// </para>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void One<TB>(byte* q, byte* hb, byte* meta, byte* a, int* sums, int nb, float* y)
        where TB : struct, IKBits
    {
        var lo = Vector256.Create((byte)0x0F);
        var split = SplitControl();
        var k1 = Vector256.Create(0x3f3f3f3fu);
        var k2 = Vector256.Create(0x0f0f0f0fu);
        var k3 = Vector256.Create(0x30303030u);
        var c = Vector256<float>.Zero;
        byte* blk = a;
        for (int i = 0; i < nb; i++, q += Q4_KRepacked.QuantBytes, hb += FifthBitBytes, meta += Q4_KRepacked.MetaBytes, blk += ActBlockBytes, sums += 4)
        {
            if (TB.HasFifthBit)
                for (int l = 0; l < FifthBitBytes; l += 64) Sse.Prefetch1(hb + RepackedMatrix.DecodePrefetchBytes / 4 + l);
            var u0 = Vector256.LoadAligned((uint*)meta);
            var u1 = Vector256.LoadAligned((uint*)(meta + 32));
            var u2 = Vector256.LoadAligned((uint*)(meta + 64));
            var sLo = (u0 & k1).AsByte();
            var sHi = ((u2 & k2) | (Vector256.ShiftRightLogical(u0, 2) & k3)).AsByte();
            byte* aq = blk + 4;
            var s0 = OneSub<TB>(Vector256<int>.Zero, q + 0, q, false, FifthBits<TB>(hb, 0), aq, Avx2.Shuffle(sLo, ScalePair(0)).AsInt16(), lo, split);
            var s1 = OneSub<TB>(Vector256<int>.Zero, q + 128, q, true, FifthBits<TB>(hb, 1), aq + 32, Avx2.Shuffle(sLo, ScalePair(1)).AsInt16(), lo, split);
            var s2 = OneSub<TB>(Vector256<int>.Zero, q + 256, q + 256, false, FifthBits<TB>(hb, 2), aq + 64, Avx2.Shuffle(sLo, ScalePair(2)).AsInt16(), lo, split);
            var s3 = OneSub<TB>(Vector256<int>.Zero, q + 384, q + 256, true, FifthBits<TB>(hb, 3), aq + 96, Avx2.Shuffle(sLo, ScalePair(3)).AsInt16(), lo, split);
            s0 = OneSub<TB>(s0, q + 512, q + 512, false, FifthBits<TB>(hb, 4), aq + 128, Avx2.Shuffle(sHi, ScalePair(0)).AsInt16(), lo, split);
            s1 = OneSub<TB>(s1, q + 640, q + 512, true, FifthBits<TB>(hb, 5), aq + 160, Avx2.Shuffle(sHi, ScalePair(1)).AsInt16(), lo, split);
            s2 = OneSub<TB>(s2, q + 768, q + 768, false, FifthBits<TB>(hb, 6), aq + 192, Avx2.Shuffle(sHi, ScalePair(2)).AsInt16(), lo, split);
            s3 = OneSub<TB>(s3, q + 896, q + 768, true, FifthBits<TB>(hb, 7), aq + 224, Avx2.Shuffle(sHi, ScalePair(3)).AsInt16(), lo, split);
            var mLo = (u1 & k1).AsByte();
            var mHi = ((Vector256.ShiftRightLogical(u2, 4) & k2) | (Vector256.ShiftRightLogical(u1, 2) & k3)).AsByte();
            var imin = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Avx2.Shuffle(mLo, PairOfDword(0)).AsInt16(), Vector256.Create(sums[0]).AsInt16());
            imin = AvxVnni.MultiplyWideningAndAdd(imin, Avx2.Shuffle(mLo, PairOfDword(1)).AsInt16(), Vector256.Create(sums[1]).AsInt16());
            imin = AvxVnni.MultiplyWideningAndAdd(imin, Avx2.Shuffle(mHi, PairOfDword(0)).AsInt16(), Vector256.Create(sums[2]).AsInt16());
            imin = AvxVnni.MultiplyWideningAndAdd(imin, Avx2.Shuffle(mHi, PairOfDword(1)).AsInt16(), Vector256.Create(sums[3]).AsInt16());
            var odd = s1 + s3;
            if (!TB.HasFifthBit) odd = Vector256.ShiftRightArithmetic(odd, 4);
            var f = Avx.ConvertToVector256Single((s0 + s2) + odd) * Fp16.ToFloat8(Vector128.Load((ushort*)(meta + 96)));
            f = Fma.MultiplyAdd(Avx.ConvertToVector256Single(imin), -Fp16.ToFloat8(Vector128.Load((ushort*)(meta + 112))), f);
            c = Fma.MultiplyAdd(f, Vector256.Create(*(float*)blk), c);
        }
        c.Store(y);
    }

    /// <summary>
    /// One sub-block of <see cref="One{TB}"/>: the prefetches for the 128 bytes at <paramref name="pf"/> (the super-block's
    /// quants at sub-block j's place, j · 128), then the 8 slices of the pair at <paramref name="qp"/> (low or high nibbles,
    /// Q5_K's fifth bits from <paramref name="h"/>; Q4_K's high nibbles left in place, see <see cref="One{TB}"/>) and
    /// <see cref="Sub"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> OneSub<TB>(Vector256<int> s, byte* pf, byte* qp, bool high, Vector256<byte> h, byte* aq, Vector256<short> sc, Vector256<byte> lo, Vector256<byte> split)
        where TB : struct, IKBits
    {
        // this sub-block's share of the group stream's prefetches (two lines into L2 far ahead, two into L1 near)
        Sse.Prefetch1(pf + RepackedMatrix.DecodePrefetchBytes);
        Sse.Prefetch1(pf + RepackedMatrix.DecodePrefetchBytes + 64);
        Sse.Prefetch0(pf + RepackedMatrix.L1PrefetchBytes);
        Sse.Prefetch0(pf + RepackedMatrix.L1PrefetchBytes + 64);
        if (high && !TB.HasFifthBit)
        {
            var hi = Vector256.Create((byte)0xF0);
            return Sub(s, Vector256.LoadAligned(qp) & hi, Vector256.LoadAligned(qp + 32) & hi, Vector256.LoadAligned(qp + 64) & hi,
                Vector256.LoadAligned(qp + 96) & hi, Vector256.LoadAligned(qp + 128) & hi, Vector256.LoadAligned(qp + 160) & hi,
                Vector256.LoadAligned(qp + 192) & hi, Vector256.LoadAligned(qp + 224) & hi, aq, sc, split);
        }
        return Sub(s, Slice<TB>(qp, 0, high, h, lo), Slice<TB>(qp, 1, high, h, lo), Slice<TB>(qp, 2, high, h, lo), Slice<TB>(qp, 3, high, h, lo),
            Slice<TB>(qp, 4, high, h, lo), Slice<TB>(qp, 5, high, h, lo), Slice<TB>(qp, 6, high, h, lo), Slice<TB>(qp, 7, high, h, lo), aq, sc, split);
    }
}
