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
/// No scalar work per pair: activations are prepared once per call (f32 scale and the correction −128·Σa per block,
/// so that <c>vpdpbusd(−128·Σa, w ⊕ 0x80, a)</c> = Σ w·a exactly), weight scales are converted once per row tile,
/// and the dw·da products of a block are vector multiplies stored to the stack and broadcast into the FMAs.
/// </para>
/// <para>
/// Exactness: the offset form equals ggml's sign form <c>dpbusd(|w|, sign(a, w))</c> whenever no activation quant is
/// −128 (<see cref="ActivationQuantizer"/> never produces one: it rounds into [−127, 127]). Activation rows with a −128
/// quant (hand-made inputs) are computed with <see cref="VecDot.Q8_0Q8_0"/> itself, so results stay bit-identical.
/// </para>
/// </summary>
internal static unsafe class TileQ8_0Avx512
{
    /// <summary>Bytes of prepared data per activation block: the int32×8 correction and the f32 scale.</summary>
    private const int PreparedBlockBytes = 36;

    /// <summary>Activation rows prepared at a time: their blocks stay in L2 while a thread's row tiles stream past.</summary>
    private const int ChunkBytes = 512 << 10;

    [ThreadStatic] private static byte[]? t_scratch;

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
    public static void MatMul(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n, float* y, int yStride)
    {
        if (r0 >= r1 || batch <= 0) return;
        int nb = n / 32;
        long fit = ChunkBytes / ((long)nb * PreparedBlockBytes + aRowBytes);
        int chunk = batch <= fit ? batch : (int)Math.Max(4, fit & ~3);
        // scratch: the prepared chunk (corrections first, 32-byte aligned, then scales) and a row tile's weight scales
        long corrBytes = (long)chunk * nb * 32, scaleBytes = (long)chunk * nb * 4, dwBytes = (long)nb * RowTile * 4;
        byte* scratch = Scratch(corrBytes + scaleBytes + dwBytes);
        var corr = (Vector256<int>*)scratch;
        float* da = (float*)(scratch + corrBytes);
        float* dw = (float*)(scratch + corrBytes + scaleBytes);
        int r8 = r0 + (r1 - r0) / 8 * 8, r4 = r8 + (r1 - r8) / 4 * 4;
        for (int c0 = 0; c0 < batch; c0 += chunk)
        {
            int cn = Math.Min(chunk, batch - c0);
            byte* ac = a + c0 * aRowBytes;
            float* yc = y + (long)c0 * yStride;
            if (!Prepare(ac, aRowBytes, cn, nb, corr, da))
            {
                Reference(w, rowBytes, r0, r1, ac, aRowBytes, cn, n, yc, yStride);
                continue;
            }
            var p = new Prepared(ac, aRowBytes, corr, da, nb);
            for (int r = r0; r < r8; r += 8)
                Rows8(w + r * rowBytes, rowBytes, p, cn, dw, yc + r, yStride);
            if (r4 > r8)
                Rows4(w + r8 * rowBytes, rowBytes, p, cn, dw, yc + r8, yStride);
            Reference(w, rowBytes, r4, r1, ac, aRowBytes, cn, n, yc, yStride);
        }
    }

    /// <summary>Prepared activation rows of a chunk: quants in place, corrections and scales in scratch (rows nb apart).</summary>
    private readonly struct Prepared(byte* a, long aRowBytes, Vector256<int>* corr, float* da, int nb)
    {
        public readonly byte* A = a;
        public readonly long ARowBytes = aRowBytes;
        public readonly Vector256<int>* Corr = corr;
        public readonly float* Da = da;
        public readonly int Nb = nb;
    }

    /// <summary>8 weight rows against every prepared activation row, 4 at a time.</summary>
    private static void Rows8(byte* w, long rowBytes, in Prepared p, int batch, float* dw, float* y, int yStride)
    {
        int nb = p.Nb;
        RowScales(w, rowBytes, nb, dw, 8);
        RowScales(w + 4 * rowBytes, rowBytes, nb, dw + 4, 8);
        int b = 0;
        for (; b + 4 <= batch; b += 4)
            Tile8<Four>(w, rowBytes, p.A + b * p.ARowBytes, p.ARowBytes, p.Corr + (long)b * nb, p.Da + (long)b * nb, dw, nb, y + (long)b * yStride, yStride);
        byte* a = p.A + b * p.ARowBytes;
        Vector256<int>* corr = p.Corr + (long)b * nb;
        float* da = p.Da + (long)b * nb;
        float* o = y + (long)b * yStride;
        switch (batch - b)
        {
            case 3: Tile8<Three>(w, rowBytes, a, p.ARowBytes, corr, da, dw, nb, o, yStride); break;
            case 2: Tile8<Two>(w, rowBytes, a, p.ARowBytes, corr, da, dw, nb, o, yStride); break;
            case 1: Tile8<One>(w, rowBytes, a, p.ARowBytes, corr, da, dw, nb, o, yStride); break;
        }
    }

    /// <summary>4 weight rows (the remainder of a range) against every prepared activation row, 4 at a time.</summary>
    private static void Rows4(byte* w, long rowBytes, in Prepared p, int batch, float* dw, float* y, int yStride)
    {
        int nb = p.Nb;
        RowScales(w, rowBytes, nb, dw, 4);
        int b = 0;
        for (; b + 4 <= batch; b += 4)
            Tile4<Four>(w, rowBytes, p.A + b * p.ARowBytes, p.ARowBytes, p.Corr + (long)b * nb, p.Da + (long)b * nb, dw, nb, y + (long)b * yStride, yStride);
        byte* a = p.A + b * p.ARowBytes;
        Vector256<int>* corr = p.Corr + (long)b * nb;
        float* da = p.Da + (long)b * nb;
        float* o = y + (long)b * yStride;
        switch (batch - b)
        {
            case 3: Tile4<Three>(w, rowBytes, a, p.ARowBytes, corr, da, dw, nb, o, yStride); break;
            case 2: Tile4<Two>(w, rowBytes, a, p.ARowBytes, corr, da, dw, nb, o, yStride); break;
            case 1: Tile4<One>(w, rowBytes, a, p.ARowBytes, corr, da, dw, nb, o, yStride); break;
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
    /// Per activation block: corr = −128·Σ4 a (int32×8) and da = f32 scale. False when some quant is −128 (then the
    /// offset form would differ from ggml's sign form and the caller takes the reference path).
    /// </summary>
    private static bool Prepare(byte* a, long aRowBytes, int batch, int nb, Vector256<int>* corr, float* da)
    {
        var ones = Vector256.Create((byte)0x80);
        var min = Vector256.Create((sbyte)-128);
        var bad = Vector256<sbyte>.Zero;
        for (int b = 0; b < batch; b++)
        {
            var blk = (BlockQ8_0*)(a + b * aRowBytes);
            for (int i = 0; i < nb; i++, blk++)
            {
                var q = Vector256.Load(blk->Qs).AsSByte();
                bad |= Vector256.Equals(q, min);
                *corr++ = Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, ones, q);
                *da++ = Fp16.ToFloat(blk->D);
            }
        }
        return bad == Vector256<sbyte>.Zero;
    }

    /// <summary>dw[i * stride + r] = f32 scale of block i of weight row r, for 4 rows.</summary>
    private static void RowScales(byte* w, long rowBytes, int nb, float* dw, int stride)
    {
        var w0 = (BlockQ8_0*)w;
        var w1 = (BlockQ8_0*)(w + rowBytes);
        var w2 = (BlockQ8_0*)(w + 2 * rowBytes);
        var w3 = (BlockQ8_0*)(w + 3 * rowBytes);
        for (int i = 0; i < nb; i++, dw += stride)
        {
            dw[0] = Fp16.ToFloat(w0[i].D);
            dw[1] = Fp16.ToFloat(w1[i].D);
            dw[2] = Fp16.ToFloat(w2[i].D);
            dw[3] = Fp16.ToFloat(w3[i].D);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Offset(BlockQ8_0* w) => Vector256.Load((byte*)w->Qs) ^ Vector256.Create((byte)0x80);

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
    /// 4 weight rows × TC.N activation rows (1..4). corr/da: prepared blocks of the first activation row (rows nb
    /// apart); dw: the tile's weight scales (4 per block).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4<TC>(byte* w, long rowBytes, byte* a, long aRowBytes, Vector256<int>* corr, float* da, float* dw, int nb, float* y, int yStride)
        where TC : struct, ICount
    {
        var w0 = (BlockQ8_0*)w;
        var w1 = (BlockQ8_0*)(w + rowBytes);
        var w2 = (BlockQ8_0*)(w + 2 * rowBytes);
        var w3 = (BlockQ8_0*)(w + 3 * rowBytes);
        var a0 = (BlockQ8_0*)a;
        var a1 = (BlockQ8_0*)(a + aRowBytes);
        var a2 = (BlockQ8_0*)(a + 2 * aRowBytes);
        var a3 = (BlockQ8_0*)(a + 3 * aRowBytes);
        Vector256<int>* n0 = corr, n1 = corr + nb, n2 = corr + 2 * nb, n3 = corr + 3 * nb;
        float* s0 = da, s1 = da + nb, s2 = da + 2 * nb, s3 = da + 3 * nb;
        float* d = stackalloc float[16];
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector256<float> c30 = default, c31 = default, c32 = default, c33 = default;
        for (int i = 0; i < nb; i++)
        {
            var sw = Vector128.Load(dw + i * 4);
            (sw * Vector128.Create(s0[i])).Store(d);
            if (TC.N > 1) (sw * Vector128.Create(s1[i])).Store(d + 4);
            if (TC.N > 2) (sw * Vector128.Create(s2[i])).Store(d + 8);
            if (TC.N > 3) (sw * Vector128.Create(s3[i])).Store(d + 12);
            var u0 = Offset(w0 + i); var u1 = Offset(w1 + i); var u2 = Offset(w2 + i); var u3 = Offset(w3 + i);

            var x = Vector256.Load(a0[i].Qs); var g = n0[i];
            c00 = Step(c00, g, u0, x, d); c10 = Step(c10, g, u1, x, d + 1);
            c20 = Step(c20, g, u2, x, d + 2); c30 = Step(c30, g, u3, x, d + 3);
            if (TC.N > 1)
            {
                x = Vector256.Load(a1[i].Qs); g = n1[i];
                c01 = Step(c01, g, u0, x, d + 4); c11 = Step(c11, g, u1, x, d + 5);
                c21 = Step(c21, g, u2, x, d + 6); c31 = Step(c31, g, u3, x, d + 7);
            }
            if (TC.N > 2)
            {
                x = Vector256.Load(a2[i].Qs); g = n2[i];
                c02 = Step(c02, g, u0, x, d + 8); c12 = Step(c12, g, u1, x, d + 9);
                c22 = Step(c22, g, u2, x, d + 10); c32 = Step(c32, g, u3, x, d + 11);
            }
            if (TC.N > 3)
            {
                x = Vector256.Load(a3[i].Qs); g = n3[i];
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

    /// <summary>8 weight rows × TC.N activation rows; accumulators hold two rows each (interleaved lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile8<TC>(byte* w, long rowBytes, byte* a, long aRowBytes, Vector256<int>* corr, float* da, float* dw, int nb, float* y, int yStride)
        where TC : struct, ICount
    {
        var w0 = (BlockQ8_0*)w;
        var w1 = (BlockQ8_0*)(w + rowBytes);
        var w2 = (BlockQ8_0*)(w + 2 * rowBytes);
        var w3 = (BlockQ8_0*)(w + 3 * rowBytes);
        var w4 = (BlockQ8_0*)(w + 4 * rowBytes);
        var w5 = (BlockQ8_0*)(w + 5 * rowBytes);
        var w6 = (BlockQ8_0*)(w + 6 * rowBytes);
        var w7 = (BlockQ8_0*)(w + 7 * rowBytes);
        var a0 = (BlockQ8_0*)a;
        var a1 = (BlockQ8_0*)(a + aRowBytes);
        var a2 = (BlockQ8_0*)(a + 2 * aRowBytes);
        var a3 = (BlockQ8_0*)(a + 3 * aRowBytes);
        Vector256<int>* n0 = corr, n1 = corr + nb, n2 = corr + 2 * nb, n3 = corr + 3 * nb;
        float* s0 = da, s1 = da + nb, s2 = da + 2 * nb, s3 = da + 3 * nb;
        float* d = stackalloc float[32];
        var idx = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        for (int i = 0; i < nb; i++)
        {
            var sw = Vector256.Load(dw + i * 8);
            (sw * Vector256.Create(s0[i])).Store(d);
            if (TC.N > 1) (sw * Vector256.Create(s1[i])).Store(d + 8);
            if (TC.N > 2) (sw * Vector256.Create(s2[i])).Store(d + 16);
            if (TC.N > 3) (sw * Vector256.Create(s3[i])).Store(d + 24);
            var u0 = Offset(w0 + i); var u1 = Offset(w1 + i); var u2 = Offset(w2 + i); var u3 = Offset(w3 + i);
            var u4 = Offset(w4 + i); var u5 = Offset(w5 + i); var u6 = Offset(w6 + i); var u7 = Offset(w7 + i);

            var x = Vector256.Load(a0[i].Qs); var g = n0[i];
            c00 = Step2(c00, Pair(g, u0, u1, x, idx), d); c10 = Step2(c10, Pair(g, u2, u3, x, idx), d + 2);
            c20 = Step2(c20, Pair(g, u4, u5, x, idx), d + 4); c30 = Step2(c30, Pair(g, u6, u7, x, idx), d + 6);
            if (TC.N > 1)
            {
                x = Vector256.Load(a1[i].Qs); g = n1[i];
                c01 = Step2(c01, Pair(g, u0, u1, x, idx), d + 8); c11 = Step2(c11, Pair(g, u2, u3, x, idx), d + 10);
                c21 = Step2(c21, Pair(g, u4, u5, x, idx), d + 12); c31 = Step2(c31, Pair(g, u6, u7, x, idx), d + 14);
            }
            if (TC.N > 2)
            {
                x = Vector256.Load(a2[i].Qs); g = n2[i];
                c02 = Step2(c02, Pair(g, u0, u1, x, idx), d + 16); c12 = Step2(c12, Pair(g, u2, u3, x, idx), d + 18);
                c22 = Step2(c22, Pair(g, u4, u5, x, idx), d + 20); c32 = Step2(c32, Pair(g, u6, u7, x, idx), d + 22);
            }
            if (TC.N > 3)
            {
                x = Vector256.Load(a3[i].Qs); g = n3[i];
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

    /// <summary>A thread's scratch of at least <paramref name="bytes"/> bytes, 64-byte aligned (pinned, grown on demand).</summary>
    private static byte* Scratch(long bytes)
    {
        var s = t_scratch;
        if (s is null || s.Length < bytes + 64)
            t_scratch = s = GC.AllocateUninitializedArray<byte>((int)Math.Max(bytes + 64, 64 << 10), pinned: true);
        byte* p = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(s));
        return (byte*)(((nint)p + 63) & ~(nint)63);
    }

    /// <summary>A compile-time count: the JIT specializes <see cref="Tile4{TC}"/> per implementing struct.</summary>
    private interface ICount
    {
        static abstract int N { get; }
    }

    private struct One : ICount { public static int N => 1; }
    private struct Two : ICount { public static int N => 2; }
    private struct Three : ICount { public static int N => 3; }
    private struct Four : ICount { public static int N => 4; }
}
