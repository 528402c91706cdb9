using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

/// <summary>
/// SIMD dot products weight-row · activation-row, laid out like ggml's x86 kernels (arch/x86/quants.c, vec.cpp):
/// the same int32 lane sums, f32 FMA accumulation per lane and the same horizontal reduction order, so results
/// track llama.cpp's AVX2/AVX-512 build closely. Integer parts equal <see cref="ReferenceDot"/> exactly.
/// Without AVX2 every method falls back to <see cref="ReferenceDot"/>. No allocation.
/// </summary>
internal static unsafe partial class VecDot
{
    /// <summary>True when the SIMD paths (AVX2 + FMA) are used.</summary>
    public static bool IsAccelerated => Avx2.IsSupported && Fma.IsSupported;

    // ---- helpers ------------------------------------------------------------------------------------------

    /// <summary>hsum_float_8: (lo+hi) then (0+2)+(1+3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HSum(Vector256<float> v) => HSum(v.GetLower() + v.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HSum(Vector128<float> s) => (s.GetElement(0) + s.GetElement(2)) + (s.GetElement(1) + s.GetElement(3));

    /// <summary>_mm512_reduce_add_ps order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HSum(Vector512<float> v) => HSum(v.GetLower() + v.GetUpper());

    /// <summary>int32 lanes of Σ u8·s8 over each 4 consecutive bytes (VNNI dpbusd or maddubs+madd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> DotU8S8(Vector256<byte> u, Vector256<sbyte> s)
    {
        if (AvxVnni.IsSupported)
            return AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, s);
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), Vector256.Create((short)1));
    }

    /// <summary>Lanes of Σ x·y for signed bytes (sign trick of mul_sum_i8_pairs_float).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> DotS8S8(Vector256<sbyte> x, Vector256<sbyte> y)
        => DotU8S8(Avx2.Sign(x, x).AsByte(), Avx2.Sign(y, x));

    /// <summary>Lanes of Σ u8·s8 over 4 bytes, times a per-128-bit-half scale (lo for lanes 0-3, hi for 4-7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> DotU8S8Scaled(Vector256<byte> u, Vector256<sbyte> s, int lo, int hi)
    {
        if (AvxVnni.IsSupported)
            return Avx2.MultiplyLow(AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, s),
                Vector256.Create(Vector128.Create(lo), Vector128.Create(hi)));
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s),
            Vector256.Create(Vector128.Create((short)lo), Vector128.Create((short)hi)));
    }

    /// <summary>32 nibbles of 16 bytes: low nibbles in bytes 0-15, high nibbles in 16-31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Nibbles32(byte* p)
    {
        var v = Vector128.Load(p);
        var m = Vector128.Create((byte)0xF);
        return Vector256.Create(v & m, Vector128.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & m);
    }

    /// <summary>bytes_from_bits_32: byte i = 0xFF if bit i of <paramref name="bits"/> is set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> BitsToBytes(uint bits)
    {
        var shuf = Vector256.Create(0x0000000000000000UL, 0x0101010101010101UL, 0x0202020202020202UL,
            0x0303030303030303UL).AsByte();
        var bytes = Avx2.Shuffle(Vector256.Create(bits).AsByte(), shuf);
        var mask = Vector256.Create(0x7fbfdfeff7fbfdfeUL).AsByte();
        return Avx2.CompareEqual(bytes | mask, Vector256<byte>.AllBitsSet);
    }

    // ---- float types (vec.cpp ggml_vec_dot_f32/f16/bf16, AVX-512 layout: 4 accumulators of 16) --------------

    private const int FloatStep = 64;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fma64(float* x, float* y, ref Vector512<float> a0, ref Vector512<float> a1,
        ref Vector512<float> a2, ref Vector512<float> a3)
    {
        a0 = Avx512F.FusedMultiplyAdd(Vector512.Load(x), Vector512.Load(y), a0);
        a1 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + 16), Vector512.Load(y + 16), a1);
        a2 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + 32), Vector512.Load(y + 32), a2);
        a3 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + 48), Vector512.Load(y + 48), a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Reduce4(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        a0 += a2;
        a1 += a3;
        a0 += a1;
        return HSum(a0);
    }

    public static float F32(float* x, float* y, int n)
    {
        if (!Avx512F.IsSupported) return ReferenceDot.F32(x, y, n);
        int np = n & ~(FloatStep - 1);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int i = 0; i < np; i += FloatStep) Fma64(x + i, y + i, ref a0, ref a1, ref a2, ref a3);
        double sum = Reduce4(a0, a1, a2, a3);
        for (int i = np; i < n; i++) sum += x[i] * y[i];
        return (float)sum;
    }

    public static float F16(ushort* x, ushort* y, int n)
    {
        if (!Avx512F.IsSupported) return ReferenceDot.F16(x, y, n);
        int np = n & ~(FloatStep - 1);
        float* bx = stackalloc float[FloatStep];
        float* by = stackalloc float[FloatStep];
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int i = 0; i < np; i += FloatStep)
        {
            TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(x + i, FloatStep), new Span<float>(bx, FloatStep));
            TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(y + i, FloatStep), new Span<float>(by, FloatStep));
            Fma64(bx, by, ref a0, ref a1, ref a2, ref a3);
        }
        double sum = Reduce4(a0, a1, a2, a3);
        for (int i = np; i < n; i++) sum += Fp16.ToFloat(x[i]) * Fp16.ToFloat(y[i]);
        return (float)sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> LoadBF16(ushort* p)
        => Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(Vector256.Load(p)), 16).AsSingle();

    public static float BF16(ushort* x, ushort* y, int n)
    {
        if (!Avx512F.IsSupported) return ReferenceDot.BF16(x, y, n);
        int i = 0;
        Vector512<float> c1 = default, c2 = default;
        for (; i + 32 <= n; i += 32)
        {
            c1 = Avx512F.Multiply(LoadBF16(x + i), LoadBF16(y + i)) + c1;
            c2 = Avx512F.Multiply(LoadBF16(x + i + 16), LoadBF16(y + i + 16)) + c2;
        }
        double sum = HSum(c1);
        sum += HSum(c2);
        for (; i < n; i++) sum += Fp16.BF16ToFloat(x[i]) * Fp16.BF16ToFloat(y[i]);
        return (float)sum;
    }
}
