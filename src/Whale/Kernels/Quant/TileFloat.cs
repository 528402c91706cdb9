using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Whale.Gguf;

namespace Whale.Kernels.Quant;

// Tiled F32/F16/BF16 products in tinyBLAS order, bit-identical to VecDot.ChainF32/ChainF16/ChainBF16: each output
// is one 16-lane FMA chain over the row (16 values per step, in order), then the AVX-512 reduce. F16/BF16 values
// are first widened to F32 (exact) into a per-thread scratch: chunks of activation rows (~1 MB), then 4 weight rows at a
// time, so the FMAs of a 4 x 4 register tile share every load. The 256-bit path keeps each 16-lane chain as two
// 8-lane halves (lanes 0-7 and 8-15), which is the same arithmetic.
internal static unsafe class TileFloat
{
    private const int ChunkBytes = 1 << 20;     // F32 activation rows per chunk: about this many bytes (L2)
    private const int Rw = 4;       // weight rows per block

    [ThreadStatic] private static float[]? t_scratch;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MatMul(GgmlType type, byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch,
        int n, float* y, int yStride, TileIsa isa)
    {
        bool f32 = type == GgmlType.F32;
        bool wide = isa == TileIsa.Avx512;
        // measured (1536 and 8960 columns): chunks of ~1 MB beat 16 rows by 1.2-1.4x (fewer passes over W)
        int chunk = Math.Clamp(ChunkBytes / (4 * n) & ~3, 8, 64);
        float[]? scratch = null;
        if (!f32)
        {
            int need = (chunk + Rw) * n;
            scratch = t_scratch;
            if (scratch is null || scratch.Length < need) t_scratch = scratch = GC.AllocateUninitializedArray<float>(need, pinned: true);
        }
        fixed (float* sp = scratch)
        {
            for (int b0 = 0; b0 < batch; b0 += chunk)
            {
                int bc = Math.Min(chunk, batch - b0);
                float* A;
                long aStride;
                if (f32)
                {
                    A = (float*)(a + b0 * aRowBytes);
                    aStride = aRowBytes / 4;
                }
                else
                {
                    A = sp;
                    aStride = n;
                    for (int b = 0; b < bc; b++) Widen(type, a + (b0 + b) * aRowBytes, A + (long)b * n, n);
                }
                for (int r = r0; r < r1; r += Rw)
                {
                    int rw = Math.Min(Rw, r1 - r);
                    float* W;
                    long wStride;
                    if (f32)
                    {
                        W = (float*)(w + r * rowBytes);
                        wStride = rowBytes / 4;
                    }
                    else
                    {
                        W = sp + chunk * n;
                        wStride = n;
                        for (int k = 0; k < rw; k++) Widen(type, w + (r + k) * rowBytes, W + (long)k * n, n);
                    }
                    float* yo = y + (long)b0 * yStride + r;
                    if (rw < Rw)
                    {
                        for (int k = 0; k < rw; k++)
                            for (int b = 0; b < bc; b++)
                                yo[(long)b * yStride + k] = wide ? Chain512(W + k * wStride, A + b * aStride, n) : Chain256(W + k * wStride, A + b * aStride, n);
                        continue;
                    }
                    if (wide)
                    {
                        int b = 0;
                        for (; b + 4 <= bc; b += 4) Tile4x4(W, wStride, A + b * aStride, aStride, n, yo + (long)b * yStride, yStride);
                        if (b + 2 <= bc)
                        {
                            Tile4x2(W, wStride, A + b * aStride, aStride, n, yo + (long)b * yStride, yStride);
                            b += 2;
                        }
                        if (b < bc) Tile4x1(W, wStride, A + b * aStride, n, yo + (long)b * yStride);
                    }
                    else
                    {
                        int b = 0;
                        for (; b + 2 <= bc; b += 2)
                        {
                            Tile2x2(W, wStride, A + b * aStride, aStride, n, yo + (long)b * yStride, yStride);
                            Tile2x2(W + 2 * wStride, wStride, A + b * aStride, aStride, n, yo + (long)b * yStride + 2, yStride);
                        }
                        for (; b < bc; b++)
                            for (int k = 0; k < Rw; k++) yo[(long)b * yStride + k] = Chain256(W + k * wStride, A + b * aStride, n);
                    }
                }
            }
        }
    }

    /// <summary>F16 or BF16 bits to F32 (exact; F16 as TensorPrimitives converts it, as ChainF16 does).</summary>
    private static void Widen(GgmlType type, byte* src, float* dst, int n)
    {
        if (type == GgmlType.F16)
        {
            TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(src, n), new Span<float>(dst, n));
            return;
        }
        var p = (ushort*)src;
        int i = 0;
        for (; i + 8 <= n; i += 8)
            Vector256.Store(Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(Vector128.Load(p + i)), 16).AsSingle(), dst + i);
        for (; i < n; i++) dst[i] = Fp16.BF16ToFloat(p[i]);
    }

    /// <summary>_mm512_reduce_add_ps order (as VecDot.HSum of a 512-bit vector).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HSum(Vector512<float> v) => HSum(v.GetLower() + v.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HSum(Vector256<float> v)
    {
        var s = v.GetLower() + v.GetUpper();
        return (s.GetElement(0) + s.GetElement(2)) + (s.GetElement(1) + s.GetElement(3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fma512(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Avx512F.FusedMultiplyAdd(a, b, c);

    private static float Chain512(float* x, float* y, int n)
    {
        var acc = Vector512<float>.Zero;
        for (int i = 0; i < n; i += 16) acc = Fma512(Vector512.Load(x + i), Vector512.Load(y + i), acc);
        return HSum(acc);
    }

    private static float Chain256(float* x, float* y, int n)
    {
        Vector256<float> lo = Vector256<float>.Zero, hi = Vector256<float>.Zero;
        for (int i = 0; i < n; i += 16)
        {
            lo = Fma.MultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), lo);
            hi = Fma.MultiplyAdd(Vector256.Load(x + i + 8), Vector256.Load(y + i + 8), hi);
        }
        return HSum(lo + hi);
    }

    /// <summary>4 weight rows × 4 activation rows: y[b * yStride + k] = chain(W[k], A[b]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x4(float* w, long ws, float* a, long ast, int n, float* y, long yStride)
    {
        float* w1 = w + ws, w2 = w1 + ws, w3 = w2 + ws;
        float* a1 = a + ast, a2 = a1 + ast, a3 = a2 + ast;
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        for (int i = 0; i < n; i += 16)
        {
            var v0 = Vector512.Load(w + i);
            var v1 = Vector512.Load(w1 + i);
            var v2 = Vector512.Load(w2 + i);
            var v3 = Vector512.Load(w3 + i);
            var x = Vector512.Load(a + i);
            c00 = Fma512(v0, x, c00); c10 = Fma512(v1, x, c10); c20 = Fma512(v2, x, c20); c30 = Fma512(v3, x, c30);
            x = Vector512.Load(a1 + i);
            c01 = Fma512(v0, x, c01); c11 = Fma512(v1, x, c11); c21 = Fma512(v2, x, c21); c31 = Fma512(v3, x, c31);
            x = Vector512.Load(a2 + i);
            c02 = Fma512(v0, x, c02); c12 = Fma512(v1, x, c12); c22 = Fma512(v2, x, c22); c32 = Fma512(v3, x, c32);
            x = Vector512.Load(a3 + i);
            c03 = Fma512(v0, x, c03); c13 = Fma512(v1, x, c13); c23 = Fma512(v2, x, c23); c33 = Fma512(v3, x, c33);
        }
        // lane 4b + k of r = HSum(c_kb): activation row b's four outputs are one 128-bit quarter
        var r = Reduce16(c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33);
        Avx512F.ExtractVector128(r, 0).Store(y);
        Avx512F.ExtractVector128(r, 1).Store(y + yStride);
        Avx512F.ExtractVector128(r, 2).Store(y + 2 * yStride);
        Avx512F.ExtractVector128(r, 3).Store(y + 3 * yStride);
    }

    /// <summary>
    /// HSum of 16 chains at once, in HSum's own pairing (upper 256 bits onto the lower, upper 128 onto the lower, then
    /// (e0 + e2) + (e1 + e3)), so each sum is bit-identical to HSum(v_i); 45 shuffles/adds instead of ~9 per chain.
    /// Lane 4g + m of the result is the sum of v_(4m + g).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Reduce16(
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7,
        Vector512<float> v8, Vector512<float> v9, Vector512<float> v10, Vector512<float> v11,
        Vector512<float> v12, Vector512<float> v13, Vector512<float> v14, Vector512<float> v15)
    {
        var u0 = Fold128(Fold256(v0, v1), Fold256(v2, v3));       // quarter i: the 4 partials of v_i
        var u1 = Fold128(Fold256(v4, v5), Fold256(v6, v7));
        var u2 = Fold128(Fold256(v8, v9), Fold256(v10, v11));
        var u3 = Fold128(Fold256(v12, v13), Fold256(v14, v15));
        return FoldPairs(FoldHalves(u0, u1), FoldHalves(u2, u3));
    }

    /// <summary>As <see cref="Reduce16"/> for 8 chains: lane 4g + m (m &lt; 2) is the sum of v_(4m + g); lanes 4g + 2, 4g + 3 repeat them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Reduce8(
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7)
    {
        var h = FoldHalves(Fold128(Fold256(v0, v1), Fold256(v2, v3)), Fold128(Fold256(v4, v5), Fold256(v6, v7)));
        return FoldPairs(h, h);
    }

    /// <summary>[a.lo256 + a.hi256, b.lo256 + b.hi256].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fold256(Vector512<float> a, Vector512<float> b)
        => Avx512F.Shuffle4x128(a, b, 0x44) + Avx512F.Shuffle4x128(a, b, 0xEE);

    /// <summary>From two Fold256 results (chains A, B and C, D): quarter i = chain i's lo128 + hi128.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fold128(Vector512<float> a, Vector512<float> b)
        => Avx512F.Shuffle4x128(a, b, 0x88) + Avx512F.Shuffle4x128(a, b, 0xDD);

    /// <summary>Per quarter: [a.e0 + a.e2, a.e1 + a.e3, b.e0 + b.e2, b.e1 + b.e3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> FoldHalves(Vector512<float> a, Vector512<float> b)
        => Avx512F.Shuffle(a, b, 0x44) + Avx512F.Shuffle(a, b, 0xEE);

    /// <summary>Per quarter: [a.e0 + a.e1, a.e2 + a.e3, b.e0 + b.e1, b.e2 + b.e3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> FoldPairs(Vector512<float> a, Vector512<float> b)
        => Avx512F.Shuffle(a, b, 0x88) + Avx512F.Shuffle(a, b, 0xDD);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x2(float* w, long ws, float* a, long ast, int n, float* y, long yStride)
    {
        float* w1 = w + ws, w2 = w1 + ws, w3 = w2 + ws, a1 = a + ast;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        for (int i = 0; i < n; i += 16)
        {
            var v0 = Vector512.Load(w + i);
            var v1 = Vector512.Load(w1 + i);
            var v2 = Vector512.Load(w2 + i);
            var v3 = Vector512.Load(w3 + i);
            var x = Vector512.Load(a + i);
            c00 = Fma512(v0, x, c00); c10 = Fma512(v1, x, c10); c20 = Fma512(v2, x, c20); c30 = Fma512(v3, x, c30);
            x = Vector512.Load(a1 + i);
            c01 = Fma512(v0, x, c01); c11 = Fma512(v1, x, c11); c21 = Fma512(v2, x, c21); c31 = Fma512(v3, x, c31);
        }
        // lane 4k + b of r = HSum(c_kb); gather each activation row's four outputs into one quarter
        var r = Reduce8(c00, c10, c20, c30, c01, c11, c21, c31);
        r = Avx512F.PermuteVar16x32(r, Vector512.Create(0, 4, 8, 12, 1, 5, 9, 13, 0, 4, 8, 12, 1, 5, 9, 13));
        Avx512F.ExtractVector128(r, 0).Store(y);
        Avx512F.ExtractVector128(r, 1).Store(y + yStride);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x1(float* w, long ws, float* a, int n, float* y)
    {
        float* w1 = w + ws, w2 = w1 + ws, w3 = w2 + ws;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int i = 0; i < n; i += 16)
        {
            var x = Vector512.Load(a + i);
            c0 = Fma512(Vector512.Load(w + i), x, c0);
            c1 = Fma512(Vector512.Load(w1 + i), x, c1);
            c2 = Fma512(Vector512.Load(w2 + i), x, c2);
            c3 = Fma512(Vector512.Load(w3 + i), x, c3);
        }
        y[0] = HSum(c0); y[1] = HSum(c1); y[2] = HSum(c2); y[3] = HSum(c3);
    }

    /// <summary>256-bit: 2 weight rows × 2 activation rows, each 16-lane chain as two 8-lane halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile2x2(float* w, long ws, float* a, long ast, int n, float* y, long yStride)
    {
        float* w1 = w + ws, a1 = a + ast;
        Vector256<float> l00 = default, h00 = default, l01 = default, h01 = default;
        Vector256<float> l10 = default, h10 = default, l11 = default, h11 = default;
        for (int i = 0; i < n; i += 16)
        {
            var v0l = Vector256.Load(w + i); var v0h = Vector256.Load(w + i + 8);
            var v1l = Vector256.Load(w1 + i); var v1h = Vector256.Load(w1 + i + 8);
            var xl = Vector256.Load(a + i); var xh = Vector256.Load(a + i + 8);
            l00 = Fma.MultiplyAdd(v0l, xl, l00); h00 = Fma.MultiplyAdd(v0h, xh, h00);
            l10 = Fma.MultiplyAdd(v1l, xl, l10); h10 = Fma.MultiplyAdd(v1h, xh, h10);
            xl = Vector256.Load(a1 + i); xh = Vector256.Load(a1 + i + 8);
            l01 = Fma.MultiplyAdd(v0l, xl, l01); h01 = Fma.MultiplyAdd(v0h, xh, h01);
            l11 = Fma.MultiplyAdd(v1l, xl, l11); h11 = Fma.MultiplyAdd(v1h, xh, h11);
        }
        y[0] = HSum(l00 + h00); y[1] = HSum(l10 + h10);
        y[yStride] = HSum(l01 + h01); y[yStride + 1] = HSum(l11 + h11);
    }
}
