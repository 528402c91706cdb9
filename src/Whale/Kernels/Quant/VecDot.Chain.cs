using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

// Float dot products in tinyBLAS order (llamafile sgemm, which llama.cpp uses for F32/F16/BF16 weights when a
// matmul has two or more activation rows): one 16-lane FMA chain over the row, then the AVX-512 reduce.
// Rows must be a multiple of 16 long (tinyBLAS refuses others and llama.cpp falls back to vec_dot).
internal static unsafe partial class VecDot
{
    public static float ChainF32(float* x, float* y, int n)
    {
        if (!Avx512F.IsSupported) return ChainScalar(x, y, n);
        var acc = Vector512<float>.Zero;
        for (int i = 0; i < n; i += 16) acc = Avx512F.FusedMultiplyAdd(Vector512.Load(x + i), Vector512.Load(y + i), acc);
        return HSum(acc);
    }

    public static float ChainF16(ushort* x, ushort* y, int n)
    {
        if (!Avx512F.IsSupported) return ChainScalarF16(x, y, n, bf16: false);
        float* bx = stackalloc float[64];
        float* by = stackalloc float[64];
        var acc = Vector512<float>.Zero;
        for (int i0 = 0; i0 < n; i0 += 64)
        {
            int m = Math.Min(64, n - i0);
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(x + i0, m), new Span<float>(bx, m));
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(y + i0, m), new Span<float>(by, m));
            for (int i = 0; i < m; i += 16) acc = Avx512F.FusedMultiplyAdd(Vector512.Load(bx + i), Vector512.Load(by + i), acc);
        }
        return HSum(acc);
    }

    public static float ChainBF16(ushort* x, ushort* y, int n)
    {
        if (!Avx512F.IsSupported) return ChainScalarF16(x, y, n, bf16: true);
        var acc = Vector512<float>.Zero;
        for (int i = 0; i < n; i += 16) acc = Avx512F.FusedMultiplyAdd(LoadBF16(x + i), LoadBF16(y + i), acc);
        return HSum(acc);
    }

    private static float ChainScalar(float* x, float* y, int n)
    {
        float* acc = stackalloc float[16];
        for (int l = 0; l < 16; l++) acc[l] = 0;
        for (int i = 0; i < n; i += 16)
            for (int l = 0; l < 16; l++) acc[l] = MathF.FusedMultiplyAdd(x[i + l], y[i + l], acc[l]);
        return Kernels.GgmlMath.Reduce16(new ReadOnlySpan<float>(acc, 16));
    }

    private static float ChainScalarF16(ushort* x, ushort* y, int n, bool bf16)
    {
        float* acc = stackalloc float[16];
        for (int l = 0; l < 16; l++) acc[l] = 0;
        for (int i = 0; i < n; i += 16)
            for (int l = 0; l < 16; l++)
            {
                float a = bf16 ? Fp16.BF16ToFloat(x[i + l]) : Fp16.ToFloat(x[i + l]);
                float b = bf16 ? Fp16.BF16ToFloat(y[i + l]) : Fp16.ToFloat(y[i + l]);
                acc[l] = MathF.FusedMultiplyAdd(a, b, acc[l]);
            }
        return Kernels.GgmlMath.Reduce16(new ReadOnlySpan<float>(acc, 16));
    }
}
