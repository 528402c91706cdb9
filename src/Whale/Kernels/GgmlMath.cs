using System.Runtime.CompilerServices;

namespace Whale.Kernels;

/// <summary>
/// Float operations in the exact order and rounding of llama.cpp's x86 (AVX-512) CPU backend, where parity needs
/// it: the vector expf it uses for softmax and SiLU (the Arm optimized-routines polynomial, max error ~1.5 ulp),
/// and 16-lane FMA chains reduced with the _mm512_reduce_add_ps tree (tinyBLAS F16 dot products).
/// </summary>
public static class GgmlMath
{
    /// <summary>Lanes of one AVX-512 float vector.</summary>
    public const int Lanes = 16;

    // Constants of the expf polynomial, as float bit patterns.
    private static readonly float Shift = BitConverter.UInt32BitsToSingle(0x4b400000);
    private static readonly float Log2E = BitConverter.UInt32BitsToSingle(0x3fb8aa3b);
    private static readonly float Ln2Hi = BitConverter.UInt32BitsToSingle(0x3f317200);
    private static readonly float Ln2Lo = BitConverter.UInt32BitsToSingle(0x35bfbe8e);
    private static readonly float C0 = BitConverter.UInt32BitsToSingle(0x3f7ffff6);
    private static readonly float C1 = BitConverter.UInt32BitsToSingle(0x3efffedb);
    private static readonly float C2 = BitConverter.UInt32BitsToSingle(0x3e2aaf33);
    private static readonly float C3 = BitConverter.UInt32BitsToSingle(0x3d2b9f17);
    private static readonly float C4 = BitConverter.UInt32BitsToSingle(0x3c072010);

    /// <summary>ggml_v_expf for one value: 2^n * p(b) with n = round(x / ln 2), b the reduced argument.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float x)
    {
        float z = MathF.FusedMultiplyAdd(x, Log2E, Shift);
        float n = z - Shift;
        if (!(MathF.Abs(n) <= 192f))
            return x > 0 ? float.PositiveInfinity : 0f;    // also -inf (masked scores) -> 0
        float b = MathF.FusedMultiplyAdd(-n, Ln2Lo, MathF.FusedMultiplyAdd(-n, Ln2Hi, x));
        float u = b * b;
        float j = MathF.FusedMultiplyAdd(
            MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(C4, b, C3), u,
                MathF.FusedMultiplyAdd(C2, b, C1)),
            u,
            MathF.FusedMultiplyAdd(C0, b, 1.0f));
        return MathF.ScaleB(j, (int)n);
    }

    /// <summary>SiLU as ggml_v_silu: x / (1 + exp(-x)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Silu(float x) => x / (1.0f + Exp(-x));

    /// <summary>Sum of 16 lanes in the order of GCC's _mm512_reduce_add_ps (halves, quarters, then pairs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Reduce16(ReadOnlySpan<float> v)
    {
        Span<float> t = stackalloc float[8];
        for (int l = 0; l < 8; l++) t[l] = v[l + 8] + v[l];
        for (int l = 0; l < 4; l++) t[l] = t[l + 4] + t[l];
        float a = t[0] + t[2], b = t[1] + t[3];
        return a + b;
    }

    /// <summary>
    /// Dot product as tinyBLAS computes it (llama.cpp's batched path, n &gt;= 2): one FMA chain per lane over
    /// 16-value chunks, then the AVX-512 reduce. Values past the end count as zero.
    /// </summary>
    public static float ChainDot16(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Span<float> acc = stackalloc float[Lanes];
        acc.Clear();
        int n = a.Length;
        for (int i0 = 0; i0 < n; i0 += Lanes)
        {
            int m = Math.Min(Lanes, n - i0);
            for (int l = 0; l < m; l++) acc[l] = MathF.FusedMultiplyAdd(a[i0 + l], b[i0 + l], acc[l]);
        }
        return Reduce16(acc);
    }

    /// <summary>
    /// Dot product as ggml_vec_dot_f16/f32 computes it on AVX-512 (single-token path): four 16-lane FMA
    /// accumulators over 64-value steps, combined (0+2, 1+3, then both), reduced, and the tail added in double.
    /// </summary>
    public static float VecDot64(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int n = a.Length, np = n & ~63;
        Span<float> acc = stackalloc float[64];
        acc.Clear();
        for (int i0 = 0; i0 < np; i0 += 64)
            for (int i = 0; i < 64; i++) acc[i] = MathF.FusedMultiplyAdd(a[i0 + i], b[i0 + i], acc[i]);
        double sum = Reduce64(acc);
        for (int i = np; i < n; i++) sum += a[i] * b[i];
        return (float)sum;
    }

    /// <summary>Combines four 16-lane accumulators (lanes 0-15, 16-31, 32-47, 48-63) as GGML_F32x16_REDUCE.</summary>
    public static float Reduce64(Span<float> acc)
    {
        if (acc.Length < 64) throw new ArgumentException("need 64 lanes", nameof(acc));
        for (int l = 0; l < Lanes; l++)
        {
            acc[l] += acc[32 + l];
            acc[16 + l] += acc[48 + l];
        }
        for (int l = 0; l < Lanes; l++) acc[l] += acc[16 + l];
        return Reduce16(acc[..Lanes]);
    }

    /// <summary>
    /// Softmax of attention scores as ggml_soft_max computes it, then rounded to F16 as the V·p product sees them:
    /// exp(s - max) with the vector expf in 16-value chunks over <paramref name="nPad"/> values (scores past
    /// <paramref name="n"/> count as masked, -inf), chunk sums in double, weights = F16(e * (float)(1 / sum)).
    /// </summary>
    public static void SoftmaxToF16(Span<float> scores, int n, int nPad, float max)
    {
        Span<float> acc = stackalloc float[Lanes];
        double sum = 0;
        for (int j0 = 0; j0 < nPad; j0 += Lanes)
        {
            for (int l = 0; l < Lanes; l++)
            {
                int j = j0 + l;
                float ex = j < n ? Exp(scores[j] - max) : 0f;
                scores[j] = ex;
                acc[l] = ex;
            }
            sum += Reduce16(acc);
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < nPad; j++) scores[j] = (float)(Half)(scores[j] * inv);
    }
}
