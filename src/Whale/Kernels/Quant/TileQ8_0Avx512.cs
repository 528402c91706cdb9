using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

/// <summary>
/// Q8_0 weights × Q8_0 activations for machines with AVX-512 (32 vector registers, EVEX) and AVX-VNNI, every output
/// summed exactly as <see cref="VecDot.Q8_0Q8_0"/>: per 32-value block an 8-lane int32 sum of 4-byte products, converted
/// to float, one FMA with the f32 product (dw·da) into an 8-lane accumulator, blocks in order, then hsum_float_8.
/// <para>
/// .NET 10 exposes VNNI only as 256-bit AVX-VNNI (512-bit <c>vpdpbusd</c> comes with <c>AvxVnni.V512</c> in .NET 11),
/// and the 512-bit <c>vpmaddubsw</c>/<c>vpmaddwd</c> pair needs a per-pair sign fix-up and runs on one port, so the
/// integer sums stay 256-bit. The float side is 512-bit: the main tile (8 weight rows × up to 4 activation rows) keeps
/// two weight rows per zmm accumulator, their lanes interleaved (lane 2k = row r lane k, lane 2k+1 = row r+1 lane k),
/// so one <c>vpermt2d</c> + <c>vcvtdq2ps</c> + <c>vfmadd</c> serves two outputs and the pair of scale products
/// (d_r, d_r+1) is a single 64-bit broadcast load. Each lane still sees exactly its own output's sequence of FMAs,
/// so the order per output is that of <see cref="VecDot.Q8_0Q8_0"/>. A 4-row tile (ymm) takes a remainder of 4 rows.
/// </para>
/// <para>
/// No scalar work per pair: activations are prepared once per call (aligned quants, f32 scale and the correction
/// −128·Σa per block, so that <c>vpdpbusd(−128·Σa, w ⊕ 0x80, a)</c> = Σ w·a exactly); the dw·da products of a block
/// are vector multiplies stored to the stack and broadcast into the FMAs. With 16 or more activation rows a row
/// tile's weights are packed once (block-major, aligned, offset applied); with fewer (decode, small batches) they are
/// read in place and their scales converted two blocks ahead into a small ring (loads and stores only), so the
/// weights stream through once with the arithmetic overlapping the loads. Weights repacked at load (the default)
/// take <see cref="TileQ8_0Repacked"/> instead, in another summation order; this kernel is the llama.cpp-identical
/// path (<c>WHALE_REPACK=0</c>).
/// </para>
/// <para>
/// Exactness: the offset form equals ggml's sign form <c>dpbusd(|w|, sign(a, w))</c> whenever no activation quant is
/// −128 (<see cref="ActivationQuantizer"/> never produces one: it rounds into [−127, 127]). Activation rows with a −128
/// quant (hand-made inputs) are computed with <see cref="VecDot.Q8_0Q8_0"/> itself, so results stay bit-identical.
/// </para>
/// </summary>
internal static unsafe class TileQ8_0Avx512
{
    /// <summary>Bytes of prepared data per activation block: the quants, the int32×8 correction and the f32 scale.</summary>
    private const int PreparedBlockBytes = 68;

    /// <summary>Bytes of activation rows prepared at a time: they stay in L2 (2 MB per core here) while a thread's row tiles stream past.</summary>
    private const int ChunkBytes = 1536 << 10;

    /// <summary>Activation rows from which packing a row tile's weights (aligned, offset applied once) pays off.</summary>
    private const int PackMinRows = 16;

    /// <summary>True when this kernel can run (AVX-512 F/VL for 32 registers and EVEX forms, AVX-VNNI, FMA).</summary>
    public static bool IsSupported => Avx512F.VL.IsSupported && AvxVnni.IsSupported && Fma.IsSupported;

    /// <summary>
    /// Weight rows per register tile (8; a remainder of 4 takes a 4-row tile, fewer the reference): splitting rows
    /// across threads on multiples of this keeps every tile whole.
    /// </summary>
    public const int RowTile = 8;

    /// <summary>
    /// y[b * yStride + r] = dot(W[r], A[b]) for r in [r0, r1), b in [0, batch). W rows of <paramref name="rowBytes"/>
    /// bytes at <paramref name="w"/> (row 0), A rows of <paramref name="aRowBytes"/> at <paramref name="a"/>; n a
    /// multiple of 32. Uses a per-thread scratch buffer (grown on first use, then reused).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MatMul(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n, float* y, int yStride)
    {
        if (r0 >= r1 || batch <= 0) return;
        int nb = n / 32;
        long fit = ChunkBytes / ((long)nb * PreparedBlockBytes);
        int chunk = batch <= fit ? batch : (int)Math.Max(4, fit & ~3);
        // scratch (32-byte vectors first): prepared chunk (quants, corrections, scales), a row tile's packed weights and scales
        long qBytes = (long)chunk * nb * 32, scaleBytes = (long)chunk * nb * 4, packBytes = (long)nb * RowTile * 32, dwBytes = (long)nb * RowTile * 4;
        byte* scratch = TileScratch.Get(2 * qBytes + packBytes + scaleBytes + dwBytes);
        var p = new Prepared((Vector256<sbyte>*)scratch, (Vector256<int>*)(scratch + qBytes), (float*)(scratch + 2 * qBytes + packBytes), nb);
        var u = (Vector256<byte>*)(scratch + 2 * qBytes);
        float* dw = (float*)(scratch + 2 * qBytes + packBytes + scaleBytes);
        int r8 = r0 + (r1 - r0) / 8 * 8, r4 = r8 + (r1 - r8) / 4 * 4;
        for (int c0 = 0; c0 < batch; c0 += chunk)
        {
            int cn = Math.Min(chunk, batch - c0);
            byte* ac = a + c0 * aRowBytes;
            float* yc = y + (long)c0 * yStride;
            if (!Prepare(ac, aRowBytes, cn, p))
            {
                Reference(w, rowBytes, r0, r1, ac, aRowBytes, cn, n, yc, yStride);
                continue;
            }
            // few activation rows: weights read in place (offset in the tile); more: packed once per row tile
            bool pack = cn >= PackMinRows;
            for (int r = r0; r < r8; r += 8)
            {
                byte* wt = w + r * rowBytes;
                if (pack)
                {
                    Pack(wt, rowBytes, 8, nb, u, dw);
                    Rows8<Packed>((byte*)u, 8 * 32, 32, dw, p, cn, yc + r, yStride);
                }
                else
                {
                    Rows8<InPlace>(wt + 2, 34, (nint)rowBytes, dw, p, cn, yc + r, yStride);
                }
            }
            if (r4 > r8)
            {
                byte* wt = w + r8 * rowBytes;
                if (pack)
                {
                    Pack(wt, rowBytes, 4, nb, u, dw);
                    Rows4<Packed>((byte*)u, 4 * 32, 32, dw, p, cn, yc + r8, yStride);
                }
                else
                {
                    Rows4<InPlace>(wt + 2, 34, (nint)rowBytes, dw, p, cn, yc + r8, yStride);
                }
            }
            Reference(w, rowBytes, r4, r1, ac, aRowBytes, cn, n, yc, yStride);
        }
    }

    /// <summary>Prepared activation rows of a chunk (row b's blocks at b * Nb): quants, corrections −128·Σ4 a, f32 scales.</summary>
    private readonly struct Prepared(Vector256<sbyte>* q, Vector256<int>* corr, float* da, int nb)
    {
        public readonly Vector256<sbyte>* Q = q;
        public readonly Vector256<int>* Corr = corr;
        public readonly float* Da = da;
        public readonly int Nb = nb;
    }

    /// <summary>8 weight rows (packed or in place, see <see cref="IWeights"/>) against every prepared activation row, 4 at a time.</summary>
    private static void Rows8<TW>(byte* u, nint blockStride, nint rowStride, float* dw, in Prepared p, int batch, float* y, int yStride)
        where TW : struct, IWeights
    {
        int nb = p.Nb, b = 0;
        for (; b + 4 <= batch; b += 4)
            Tile8<TileCount.Four, TW>(u, blockStride, rowStride, dw, p.Q + (long)b * nb, p.Corr + (long)b * nb, p.Da + (long)b * nb, nb, y + (long)b * yStride, yStride);
        var q = p.Q + (long)b * nb;
        var corr = p.Corr + (long)b * nb;
        float* da = p.Da + (long)b * nb;
        float* o = y + (long)b * yStride;
        switch (batch - b)
        {
            case 3: Tile8<TileCount.Three, TW>(u, blockStride, rowStride, dw, q, corr, da, nb, o, yStride); break;
            case 2: Tile8<TileCount.Two, TW>(u, blockStride, rowStride, dw, q, corr, da, nb, o, yStride); break;
            case 1: Tile8<TileCount.One, TW>(u, blockStride, rowStride, dw, q, corr, da, nb, o, yStride); break;
        }
    }

    /// <summary>4 weight rows (the remainder of a range) against every prepared activation row, 4 at a time.</summary>
    private static void Rows4<TW>(byte* u, nint blockStride, nint rowStride, float* dw, in Prepared p, int batch, float* y, int yStride)
        where TW : struct, IWeights
    {
        int nb = p.Nb, b = 0;
        for (; b + 4 <= batch; b += 4)
            Tile4<TileCount.Four, TW>(u, blockStride, rowStride, dw, p.Q + (long)b * nb, p.Corr + (long)b * nb, p.Da + (long)b * nb, nb, y + (long)b * yStride, yStride);
        var q = p.Q + (long)b * nb;
        var corr = p.Corr + (long)b * nb;
        float* da = p.Da + (long)b * nb;
        float* o = y + (long)b * yStride;
        switch (batch - b)
        {
            case 3: Tile4<TileCount.Three, TW>(u, blockStride, rowStride, dw, q, corr, da, nb, o, yStride); break;
            case 2: Tile4<TileCount.Two, TW>(u, blockStride, rowStride, dw, q, corr, da, nb, o, yStride); break;
            case 1: Tile4<TileCount.One, TW>(u, blockStride, rowStride, dw, q, corr, da, nb, o, yStride); break;
        }
    }

    /// <summary>The per-output reference for rows outside whole tiles and for activations holding a −128 quant.</summary>
    private static void Reference(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n, float* y, int yStride)
    {
        for (int r = r0; r < r1; r++)
            for (int b = 0; b < batch; b++)
                y[(long)b * yStride + r] = VecDot.Q8_0Q8_0((BlockQ8_0*)(w + r * rowBytes), (BlockQ8_0*)(a + b * aRowBytes), n);
    }

    /// <summary>
    /// Per activation block: the quants (aligned copy), corr = −128·Σ4 a (int32×8) and da = f32 scale. False when some
    /// quant is −128 (the offset form would then differ from ggml's sign form; the caller takes the reference).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static bool Prepare(byte* a, long aRowBytes, int batch, in Prepared p)
    {
        var ones = Vector256.Create((byte)0x80);
        var min = Vector256.Create((sbyte)-128);
        var bad = Vector256<sbyte>.Zero;
        var dq = p.Q;
        var corr = p.Corr;
        float* da = p.Da;
        for (int b = 0; b < batch; b++)
        {
            var blk = (BlockQ8_0*)(a + b * aRowBytes);
            for (int i = 0; i < p.Nb; i++, blk++)
            {
                var q = Vector256.Load(blk->Qs).AsSByte();
                bad |= Vector256.Equals(q, min);
                *dq++ = q;
                *corr++ = Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, ones, q);
                *da++ = Fp16.ToFloat(blk->D);
            }
        }
        return bad == Vector256<sbyte>.Zero;
    }

    /// <summary>
    /// In-place tiles: the f32 scales of block <paramref name="ahead"/> blocks after <paramref name="u"/>'s (rows
    /// <paramref name="rowStride"/> apart, quants at u, scale 2 bytes before) into <paramref name="slot"/>, if that
    /// block exists (<paramref name="left"/> blocks from u's on). Scalar loads and stores only; the slot is read two
    /// blocks later, when the stores are long done.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RingScales(byte* u, nint rowStride, int rows, int ahead, int left, float* slot)
    {
        if (ahead >= left) return;
        byte* h = u + ahead * 34 - 2;
        for (int r = 0; r < rows; r++, h += rowStride)
            slot[r] = Fp16.ToFloat(*(ushort*)h);
    }

    /// <summary>
    /// Packs <paramref name="rows"/> (4 or 8) weight rows block-major: u[i * rows + r] = quants of block i of row r
    /// offset to unsigned (⊕ 0x80), dw[i * rows + r] = its f32 scale.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pack(byte* w, long rowBytes, int rows, int nb, Vector256<byte>* u, float* dw)
    {
        // block-major (writes sequential; 8 row streams read in step)
        var m = Vector256.Create((byte)0x80);
        for (int i = 0; i < nb; i++, w += 34)
        {
            byte* wr = w;
            for (int r = 0; r < rows; r++, wr += rowBytes)
            {
                *u++ = Vector256.Load(wr + 2) ^ m;
                *dw++ = Fp16.ToFloat(*(ushort*)wr);
            }
        }
    }

    /// <summary>acc + f32(Σ w·a) · d: the integer sum exact (offset form), one FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step(Vector256<float> acc, Vector256<int> corr, Vector256<byte> wu, Vector256<sbyte> a, float* d)
        => Fma.MultiplyAdd(Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(corr, wu, a)), Vector256.Create(*d), acc);

    /// <summary>hsum_float_8: (lo+hi) then (0+2)+(1+3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HSum(Vector256<float> v)
    {
        var s = v.GetLower() + v.GetUpper();
        return (s.GetElement(0) + s.GetElement(2)) + (s.GetElement(1) + s.GetElement(3));
    }

    /// <summary>
    /// 4 weight rows × TC.N activation rows (1..4), ymm accumulators. q/corr/da: prepared blocks of the first
    /// activation row (rows nb apart); u: quants of block 0 of row 0 (blocks blockStride apart, rows rowStride
    /// apart); dw: the packed rows' scales (4 per block; in place, the scales are read from the rows).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4<TC, TW>(byte* u, nint blockStride, nint rowStride, float* dw, Vector256<sbyte>* q, Vector256<int>* corr, float* da, int nb, float* y, int yStride)
        where TC : struct, TileCount.ICount
        where TW : struct, IWeights
    {
        Vector256<sbyte>* q0 = q, q1 = q + nb, q2 = q + 2 * nb, q3 = q + 3 * nb;
        Vector256<int>* n0 = corr, n1 = corr + nb, n2 = corr + 2 * nb, n3 = corr + 3 * nb;
        float* s0 = da, s1 = da + nb, s2 = da + 2 * nb, s3 = da + 3 * nb;
        float* d = stackalloc float[16];
        float* ring = stackalloc float[16];                      // in place: scales of blocks i .. i+2, 4 slots
        if (typeof(TW) == typeof(InPlace)) { RingScales(u, rowStride, 4, 0, nb, ring); RingScales(u, rowStride, 4, 1, nb, ring + 4); }
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector256<float> c30 = default, c31 = default, c32 = default, c33 = default;
        for (int i = 0; i < nb; i++, u += blockStride)
        {
            Vector128<float> sw;
            if (typeof(TW) == typeof(InPlace))
            {
                RingScales(u, rowStride, 4, 2, nb - i, ring + ((i + 2) & 3) * 4);
                sw = Vector128.Load(ring + (i & 3) * 4);
            }
            else sw = Vector128.Load(dw + i * 4);
            (sw * Vector128.Create(s0[i])).Store(d);
            if (TC.N > 1) (sw * Vector128.Create(s1[i])).Store(d + 4);
            if (TC.N > 2) (sw * Vector128.Create(s2[i])).Store(d + 8);
            if (TC.N > 3) (sw * Vector128.Create(s3[i])).Store(d + 12);
            var u0 = TW.Load(u); var u1 = TW.Load(u + rowStride); var u2 = TW.Load(u + 2 * rowStride); var u3 = TW.Load(u + 3 * rowStride);

            var x = q0[i]; var g = n0[i];
            c00 = Step(c00, g, u0, x, d); c10 = Step(c10, g, u1, x, d + 1);
            c20 = Step(c20, g, u2, x, d + 2); c30 = Step(c30, g, u3, x, d + 3);
            if (TC.N > 1)
            {
                x = q1[i]; g = n1[i];
                c01 = Step(c01, g, u0, x, d + 4); c11 = Step(c11, g, u1, x, d + 5);
                c21 = Step(c21, g, u2, x, d + 6); c31 = Step(c31, g, u3, x, d + 7);
            }
            if (TC.N > 2)
            {
                x = q2[i]; g = n2[i];
                c02 = Step(c02, g, u0, x, d + 8); c12 = Step(c12, g, u1, x, d + 9);
                c22 = Step(c22, g, u2, x, d + 10); c32 = Step(c32, g, u3, x, d + 11);
            }
            if (TC.N > 3)
            {
                x = q3[i]; g = n3[i];
                c03 = Step(c03, g, u0, x, d + 12); c13 = Step(c13, g, u1, x, d + 13);
                c23 = Step(c23, g, u2, x, d + 14); c33 = Step(c33, g, u3, x, d + 15);
            }
        }
        y[0] = HSum(c00); y[1] = HSum(c10); y[2] = HSum(c20); y[3] = HSum(c30);
        if (TC.N > 1) { float* o = y + yStride; o[0] = HSum(c01); o[1] = HSum(c11); o[2] = HSum(c21); o[3] = HSum(c31); }
        if (TC.N > 2) { float* o = y + 2L * yStride; o[0] = HSum(c02); o[1] = HSum(c12); o[2] = HSum(c22); o[3] = HSum(c32); }
        if (TC.N > 3) { float* o = y + 3L * yStride; o[0] = HSum(c03); o[1] = HSum(c13); o[2] = HSum(c23); o[3] = HSum(c33); }
    }

    /// <summary>Two rows' int32 lane sums interleaved into one zmm (lane 2k = row r lane k, lane 2k+1 = row r+1 lane k), as f32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair(Vector256<int> corr, Vector256<byte> u0, Vector256<byte> u1, Vector256<sbyte> a, Vector512<int> idx)
        => Avx512F.ConvertToVector512Single(Avx512F.PermuteVar16x32x2(
            AvxVnni.MultiplyWideningAndAdd(corr, u0, a).ToVector512Unsafe(), idx,
            AvxVnni.MultiplyWideningAndAdd(corr, u1, a).ToVector512Unsafe()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Step2(Vector512<float> acc, Vector512<float> q, float* d)
        => Avx512F.FusedMultiplyAdd(q, Vector512.Create(*(double*)d).AsSingle(), acc);

    /// <summary>hsum_float_8 of the even lanes (row r) and of the odd lanes (row r+1) of an interleaved accumulator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HSum2(Vector512<float> v, Vector512<int> deinterleave, float* y0, float* y1)
    {
        var s = Avx512F.PermuteVar16x32(v, deinterleave);
        *y0 = HSum(s.GetLower());
        *y1 = HSum(s.GetUpper());
    }

    /// <summary>
    /// 8 weight rows × TC.N activation rows (1..4); each zmm accumulator holds two rows (interleaved lanes).
    /// Arguments as <see cref="Tile4{TC, TW}"/> (8 scales per block).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile8<TC, TW>(byte* u, nint blockStride, nint rowStride, float* dw, Vector256<sbyte>* q, Vector256<int>* corr, float* da, int nb, float* y, int yStride)
        where TC : struct, TileCount.ICount
        where TW : struct, IWeights
    {
        Vector256<sbyte>* q0 = q, q1 = q + nb, q2 = q + 2 * nb, q3 = q + 3 * nb;
        Vector256<int>* n0 = corr, n1 = corr + nb, n2 = corr + 2 * nb, n3 = corr + 3 * nb;
        float* s0 = da, s1 = da + nb, s2 = da + 2 * nb, s3 = da + 3 * nb;
        float* d = stackalloc float[32];
        float* ring = stackalloc float[32];                      // in place: scales of blocks i .. i+2, 4 slots
        if (typeof(TW) == typeof(InPlace)) { RingScales(u, rowStride, 8, 0, nb, ring); RingScales(u, rowStride, 8, 1, nb, ring + 8); }
        var idx = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        for (int i = 0; i < nb; i++, u += blockStride)
        {
            Vector256<float> sw;
            if (typeof(TW) == typeof(InPlace))
            {
                RingScales(u, rowStride, 8, 2, nb - i, ring + ((i + 2) & 3) * 8);
                sw = Vector256.Load(ring + (i & 3) * 8);
            }
            else sw = Vector256.Load(dw + i * 8);
            (sw * Vector256.Create(s0[i])).Store(d);
            if (TC.N > 1) (sw * Vector256.Create(s1[i])).Store(d + 8);
            if (TC.N > 2) (sw * Vector256.Create(s2[i])).Store(d + 16);
            if (TC.N > 3) (sw * Vector256.Create(s3[i])).Store(d + 24);
            var u0 = TW.Load(u); var u1 = TW.Load(u + rowStride); var u2 = TW.Load(u + 2 * rowStride); var u3 = TW.Load(u + 3 * rowStride);
            var u4 = TW.Load(u + 4 * rowStride); var u5 = TW.Load(u + 5 * rowStride); var u6 = TW.Load(u + 6 * rowStride); var u7 = TW.Load(u + 7 * rowStride);

            var x = q0[i]; var g = n0[i];
            c00 = Step2(c00, Pair(g, u0, u1, x, idx), d); c10 = Step2(c10, Pair(g, u2, u3, x, idx), d + 2);
            c20 = Step2(c20, Pair(g, u4, u5, x, idx), d + 4); c30 = Step2(c30, Pair(g, u6, u7, x, idx), d + 6);
            if (TC.N > 1)
            {
                x = q1[i]; g = n1[i];
                c01 = Step2(c01, Pair(g, u0, u1, x, idx), d + 8); c11 = Step2(c11, Pair(g, u2, u3, x, idx), d + 10);
                c21 = Step2(c21, Pair(g, u4, u5, x, idx), d + 12); c31 = Step2(c31, Pair(g, u6, u7, x, idx), d + 14);
            }
            if (TC.N > 2)
            {
                x = q2[i]; g = n2[i];
                c02 = Step2(c02, Pair(g, u0, u1, x, idx), d + 16); c12 = Step2(c12, Pair(g, u2, u3, x, idx), d + 18);
                c22 = Step2(c22, Pair(g, u4, u5, x, idx), d + 20); c32 = Step2(c32, Pair(g, u6, u7, x, idx), d + 22);
            }
            if (TC.N > 3)
            {
                x = q3[i]; g = n3[i];
                c03 = Step2(c03, Pair(g, u0, u1, x, idx), d + 24); c13 = Step2(c13, Pair(g, u2, u3, x, idx), d + 26);
                c23 = Step2(c23, Pair(g, u4, u5, x, idx), d + 28); c33 = Step2(c33, Pair(g, u6, u7, x, idx), d + 30);
            }
        }
        var de = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
        HSum2(c00, de, y, y + 1); HSum2(c10, de, y + 2, y + 3); HSum2(c20, de, y + 4, y + 5); HSum2(c30, de, y + 6, y + 7);
        if (TC.N > 1) { float* o = y + yStride; HSum2(c01, de, o, o + 1); HSum2(c11, de, o + 2, o + 3); HSum2(c21, de, o + 4, o + 5); HSum2(c31, de, o + 6, o + 7); }
        if (TC.N > 2) { float* o = y + 2L * yStride; HSum2(c02, de, o, o + 1); HSum2(c12, de, o + 2, o + 3); HSum2(c22, de, o + 4, o + 5); HSum2(c32, de, o + 6, o + 7); }
        if (TC.N > 3) { float* o = y + 3L * yStride; HSum2(c03, de, o, o + 1); HSum2(c13, de, o + 2, o + 3); HSum2(c23, de, o + 4, o + 5); HSum2(c33, de, o + 6, o + 7); }
    }

    /// <summary>Where a tile reads its weight quants: packed (offset already applied) or in place in the Q8_0 rows.</summary>
    private interface IWeights
    {
        static abstract Vector256<byte> Load(byte* p);
    }

    private struct Packed : IWeights
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Load(byte* p) => Vector256.LoadAligned(p);
    }

    private struct InPlace : IWeights
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Load(byte* p) => Vector256.Load(p) ^ Vector256.Create((byte)0x80);
    }
}
