using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

/// <summary>
/// Q8_0 weights × Q8_0 activations for several weight rows and activation rows at once (register tiles of 4 x 4
/// and 4 x 1), each output summed exactly as <see cref="VecDot.Q8_0Q8_0"/> (ggml's AVX2 vec_dot and tinyBLAS):
/// per block an 8-lane int32 sum of 4-byte products converted to float, one FMA with the f32 product of the two
/// F16 scales into an 8-lane accumulator, blocks in order, then hsum_float_8. The integer lane sums are computed
/// with the offset form of VNNI (Σ(w+128)·a − 128·Σa), which is exact and so equals ggml's sign form whenever no
/// activation quant is −128 (the activation quantizer rounds into [−127, 127]); calls with a −128 activation quant
/// take <see cref="VecDot.Q8_0Q8_0"/> itself, so results are bit-identical. The fallback of
/// <see cref="TileQ8_0Avx512"/> on machines without AVX-512.
/// </summary>
internal static unsafe class TileQ8_0
{
    /// <summary>True when the tiled path is available (AVX-VNNI).</summary>
    public static bool IsSupported => AvxVnni.IsSupported && Fma.IsSupported;

    /// <summary>
    /// y[b * yStride + r] = dot(W[r], A[b]) for r in [r0, r1), b in [0, batch). W rows of <paramref name="rowBytes"/>
    /// bytes at <paramref name="w"/> (row 0), A rows of <paramref name="aRowBytes"/> at <paramref name="a"/>.
    /// </summary>
    public static void MatMul(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n, float* y, int yStride)
    {
        int nb = n / 32;
        int r = r0;
        int tiled = HasMinQuant(a, aRowBytes, batch, nb) ? r0 : r1;     // with a −128 quant: all by the reference
        for (; r + 4 <= tiled; r += 4)
        {
            var w0 = (BlockQ8_0*)(w + r * rowBytes);
            int b = 0;
            for (; b + 4 <= batch; b += 4)
                Tile4x4(w0, rowBytes, (BlockQ8_0*)(a + b * aRowBytes), aRowBytes, nb, y + (long)b * yStride + r, yStride);
            for (; b < batch; b++)
                Tile4x1(w0, rowBytes, (BlockQ8_0*)(a + b * aRowBytes), nb, y + (long)b * yStride + r);
        }
        for (; r < r1; r++)
            for (int b = 0; b < batch; b++)
                y[(long)b * yStride + r] = VecDot.Q8_0Q8_0((BlockQ8_0*)(w + r * rowBytes), (BlockQ8_0*)(a + b * aRowBytes), n);
    }

    /// <summary>True when some quant of the <paramref name="batch"/> activation rows is −128.</summary>
    internal static bool HasMinQuant(byte* a, long aRowBytes, int batch, int nb)
    {
        var min = Vector256.Create((sbyte)-128);
        var bad = Vector256<sbyte>.Zero;
        for (int b = 0; b < batch; b++)
        {
            var blk = (BlockQ8_0*)(a + b * aRowBytes);
            for (int i = 0; i < nb; i++)
                bad |= Vector256.Equals(Vector256.Load(blk[i].Qs).AsSByte(), min);
        }
        return bad != Vector256<sbyte>.Zero;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Sum4(Vector256<sbyte> a)
        => Vector256<int>.Zero - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Vector256.Create((byte)0x80), a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Offset(BlockQ8_0* w) => Vector256.Load((byte*)w->Qs) ^ Vector256.Create((byte)0x80);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step(Vector256<float> acc, Vector256<int> neg, Vector256<byte> wu, Vector256<sbyte> a, float d)
        => Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(AvxVnni.MultiplyWideningAndAdd(neg, wu, a)), acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HSum(Vector256<float> v)
    {
        var s = v.GetLower() + v.GetUpper();
        return (s.GetElement(0) + s.GetElement(2)) + (s.GetElement(1) + s.GetElement(3));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x4(BlockQ8_0* w, long rowBytes, BlockQ8_0* a, long aRowBytes, int nb, float* y, int yStride)
    {
        var w1 = (BlockQ8_0*)((byte*)w + rowBytes);
        var w2 = (BlockQ8_0*)((byte*)w1 + rowBytes);
        var w3 = (BlockQ8_0*)((byte*)w2 + rowBytes);
        var a1 = (BlockQ8_0*)((byte*)a + aRowBytes);
        var a2 = (BlockQ8_0*)((byte*)a1 + aRowBytes);
        var a3 = (BlockQ8_0*)((byte*)a2 + aRowBytes);
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector256<float> c30 = default, c31 = default, c32 = default, c33 = default;
        for (int i = 0; i < nb; i++)
        {
            var u0 = Offset(w + i); var u1 = Offset(w1 + i); var u2 = Offset(w2 + i); var u3 = Offset(w3 + i);
            float dw0 = Fp16.ToFloat(w[i].D), dw1 = Fp16.ToFloat(w1[i].D), dw2 = Fp16.ToFloat(w2[i].D), dw3 = Fp16.ToFloat(w3[i].D);

            var x = Vector256.Load(a[i].Qs); var g = Sum4(x); float da = Fp16.ToFloat(a[i].D);
            c00 = Step(c00, g, u0, x, dw0 * da); c10 = Step(c10, g, u1, x, dw1 * da);
            c20 = Step(c20, g, u2, x, dw2 * da); c30 = Step(c30, g, u3, x, dw3 * da);
            x = Vector256.Load(a1[i].Qs); g = Sum4(x); da = Fp16.ToFloat(a1[i].D);
            c01 = Step(c01, g, u0, x, dw0 * da); c11 = Step(c11, g, u1, x, dw1 * da);
            c21 = Step(c21, g, u2, x, dw2 * da); c31 = Step(c31, g, u3, x, dw3 * da);
            x = Vector256.Load(a2[i].Qs); g = Sum4(x); da = Fp16.ToFloat(a2[i].D);
            c02 = Step(c02, g, u0, x, dw0 * da); c12 = Step(c12, g, u1, x, dw1 * da);
            c22 = Step(c22, g, u2, x, dw2 * da); c32 = Step(c32, g, u3, x, dw3 * da);
            x = Vector256.Load(a3[i].Qs); g = Sum4(x); da = Fp16.ToFloat(a3[i].D);
            c03 = Step(c03, g, u0, x, dw0 * da); c13 = Step(c13, g, u1, x, dw1 * da);
            c23 = Step(c23, g, u2, x, dw2 * da); c33 = Step(c33, g, u3, x, dw3 * da);
        }
        float* y1 = y + yStride, y2 = y1 + yStride, y3 = y2 + yStride;
        y[0] = HSum(c00); y[1] = HSum(c10); y[2] = HSum(c20); y[3] = HSum(c30);
        y1[0] = HSum(c01); y1[1] = HSum(c11); y1[2] = HSum(c21); y1[3] = HSum(c31);
        y2[0] = HSum(c02); y2[1] = HSum(c12); y2[2] = HSum(c22); y2[3] = HSum(c32);
        y3[0] = HSum(c03); y3[1] = HSum(c13); y3[2] = HSum(c23); y3[3] = HSum(c33);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x1(BlockQ8_0* w, long rowBytes, BlockQ8_0* a, int nb, float* y)
    {
        var w1 = (BlockQ8_0*)((byte*)w + rowBytes);
        var w2 = (BlockQ8_0*)((byte*)w1 + rowBytes);
        var w3 = (BlockQ8_0*)((byte*)w2 + rowBytes);
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int i = 0; i < nb; i++)
        {
            var x = Vector256.Load(a[i].Qs); var g = Sum4(x); float da = Fp16.ToFloat(a[i].D);
            c0 = Step(c0, g, Offset(w + i), x, Fp16.ToFloat(w[i].D) * da);
            c1 = Step(c1, g, Offset(w1 + i), x, Fp16.ToFloat(w1[i].D) * da);
            c2 = Step(c2, g, Offset(w2 + i), x, Fp16.ToFloat(w2[i].D) * da);
            c3 = Step(c3, g, Offset(w3 + i), x, Fp16.ToFloat(w3[i].D) * da);
        }
        y[0] = HSum(c0); y[1] = HSum(c1); y[2] = HSum(c2); y[3] = HSum(c3);
    }
}
