using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Whale.Gguf;

namespace Whale.Kernels.Quant;

/// <summary>
/// Converts F32 activation rows to the vec_dot type of a weight, bit-for-bit as llama.cpp's x86 CPU backend
/// (AVX2/AVX-512 build) does it.
/// </summary>
/// <remarks>
/// Findings from ggml/src/ggml-cpu/arch/x86/quants.c and ggml-quants.c (llama.cpp, ggml 0.18-era):
/// <list type="bullet">
/// <item>quantize_row_q8_0 (AVX2 path, also taken by the AVX-512 build): amax = max |x| over the block;
/// d = amax / 127f stored as fp16 (F16C, round to nearest even); the quants use the multiplier
/// id = 127f / amax (0 when amax = 0), NOT 1/d and NOT the fp16-rounded d: q = _mm256_round_ps(x·id,
/// _MM_ROUND_NEAREST) i.e. round half to EVEN (the scalar reference quantize_row_q8_0_ref uses roundf, half away
/// from zero, and x·(1/d); the SIMD build does not use it).</item>
/// <item>quantize_row_q8_1 (AVX2 path): same d, id and rounding as q8_0; s = fp16(d · Σq) with the unrounded
/// f32 d.</item>
/// <item>quantize_row_q8_K: the x86 build calls the scalar quantize_row_q8_K_ref: "max" = the element of
/// largest |x| with its sign (first on ties); iscale = −127f/max; q = nearest_int(iscale·x) (the 12582912
/// magic-add trick: round half to even), clamped to ≤ 127; bsums = sums of 16; d = 1/iscale (f32). A block of
/// zeros gets d = 0, q = 0.</item>
/// <item>F16 activations (F16 weights): fp32→fp16 round to nearest even; BF16: ggml's bf16 rounding.</item>
/// </list>
/// Note (not replicated here): that build also has the REPACK buffer type, which may re-layout Q4_0/Q4_K/IQ4_NL
/// weights and then quantizes activations through quantize_mat_q8_0/q8_K 4x interleaved paths.
/// </remarks>
internal static unsafe class ActivationQuantizer
{
    /// <summary>The activation type llama.cpp's CPU backend pairs with a weight type (vec_dot_type).</summary>
    public static GgmlType VecDotType(GgmlType weight) => weight switch
    {
        GgmlType.F32 => GgmlType.F32,
        GgmlType.F16 => GgmlType.F16,
        GgmlType.BF16 => GgmlType.BF16,
        GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0 => GgmlType.Q8_0,
        GgmlType.Q4_1 or GgmlType.Q5_1 => GgmlType.Q8_1,
        GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K => GgmlType.Q8_K,
        _ => throw new NotSupportedException($"no matrix product for weight type {weight}"),
    };

    /// <summary>Converts n floats to <paramref name="type"/> (one of the vec_dot types).</summary>
    public static void Convert(GgmlType type, float* x, byte* dst, int n)
    {
        switch (type)
        {
            case GgmlType.F32:
                Buffer.MemoryCopy(x, dst, (long)n * 4, (long)n * 4);
                break;
            case GgmlType.F16:
                System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(
                    new ReadOnlySpan<float>(x, n), new Span<Half>(dst, n));
                break;
            case GgmlType.BF16:
                {
                    var b = (ushort*)dst;
                    for (int i = 0; i < n; i++) b[i] = Fp16.FloatToBF16(x[i]);
                    break;
                }
            case GgmlType.Q8_0: QuantizeQ8_0(x, (BlockQ8_0*)dst, n); break;
            case GgmlType.Q8_1: QuantizeQ8_1(x, (BlockQ8_1*)dst, n); break;
            case GgmlType.Q8_K: QuantizeQ8_K(x, (BlockQ8_K*)dst, n); break;
            default: throw new NotSupportedException($"{type} is not an activation type");
        }
    }

    private static float AbsMax32(float* x)
    {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(x[j]));
        return amax;
    }

    /// <summary>quantize_row_q8_0, x86 SIMD semantics (see class remarks); vectorized where AVX-512 is present.</summary>
    public static void QuantizeQ8_0(float* x, BlockQ8_0* y, int n)
    {
        for (int i = 0; i < n / 32; i++, x += 32, y++)
            if (!Avx512F.IsSupported || !Block32(x, y->Qs, out float d)) QuantizeQ8_0Scalar(x, y, 32);
            else y->D = Fp16.FromFloat(d);
    }

    /// <summary>The scalar form of <see cref="QuantizeQ8_0"/> (the reference the vector form is tested against).</summary>
    internal static void QuantizeQ8_0Scalar(float* x, BlockQ8_0* y, int n)
    {
        for (int i = 0; i < n / 32; i++, x += 32, y++)
        {
            float amax = AbsMax32(x);
            float d = amax / 127f;
            y->D = Fp16.FromFloat(d);
            float id = amax != 0 ? 127f / amax : 0f;
            for (int j = 0; j < 32; j++)
                y->Qs[j] = (sbyte)Math.Clamp((int)MathF.Round(x[j] * id, MidpointRounding.ToEven), -128, 127);
        }
    }

    /// <summary>
    /// One block of 32 as ggml's AVX2 quantize_row_q8_0: d = max|x| / 127 (f32), q = round-half-even(x · 127/max|x|).
    /// Returns false, writing nothing, when the block holds a NaN or an infinity (the scalar form handles those).
    /// Every |x · id| is at most 127 (rounded), so the narrowing int32 -> int8 is exact.
    /// </summary>
    private static bool Block32(float* x, sbyte* q, out float d)
    {
        var v0 = Vector512.Load(x);
        var v1 = Vector512.Load(x + 16);
        var a = Vector512.Max(Vector512.Abs(v0), Vector512.Abs(v1));
        // finite <=> |x| <= MaxValue; NaN compares false, so one test rejects both NaN and ±inf.
        if (!Vector512.LessThanOrEqualAll(a, Vector512.Create(float.MaxValue))) { d = 0; return false; }
        float amax = HMax(a);
        d = amax / 127f;
        var id = Vector512.Create(amax != 0 ? 127f / amax : 0f);
        var i0 = Avx512F.ConvertToVector512Int32(Avx512F.RoundScale(v0 * id, 0));
        var i1 = Avx512F.ConvertToVector512Int32(Avx512F.RoundScale(v1 * id, 0));
        Avx512F.ConvertToVector128SByte(i0).Store(q);
        Avx512F.ConvertToVector128SByte(i1).Store(q + 16);
        return true;
    }

    private static float HMax(Vector512<float> a)
    {
        var m = Vector256.Max(a.GetLower(), a.GetUpper());
        var h = Vector128.Max(m.GetLower(), m.GetUpper());
        h = Vector128.Max(h, Vector128.Shuffle(h, Vector128.Create(2, 3, 0, 1)));
        h = Vector128.Max(h, Vector128.Shuffle(h, Vector128.Create(1, 0, 3, 2)));
        return h.ToScalar();
    }

    /// <summary>quantize_row_q8_1, x86 SIMD semantics (see class remarks).</summary>
    public static void QuantizeQ8_1(float* x, BlockQ8_1* y, int n)
    {
        for (int i = 0; i < n / 32; i++, x += 32, y++)
        {
            float amax = AbsMax32(x);
            float d = amax / 127f;
            y->D = Fp16.FromFloat(d);
            float id = amax != 0 ? 127f / amax : 0f;
            int sum = 0;
            for (int j = 0; j < 32; j++)
            {
                int q = Math.Clamp((int)MathF.Round(x[j] * id, MidpointRounding.ToEven), -128, 127);
                y->Qs[j] = (sbyte)q;
                sum += q;
            }
            y->S = Fp16.FromFloat(d * sum);
        }
    }

    /// <summary>quantize_row_q8_K_ref (used by the x86 build).</summary>
    public static void QuantizeQ8_K(float* x, BlockQ8_K* y, int n)
    {
        for (int i = 0; i < n / 256; i++, x += 256, y++)
            if (!Avx512F.IsSupported || !Block256(x, y)) QuantizeQ8_KScalar(x, y, 256);
    }

    /// <summary>
    /// One Q8_K block as <see cref="QuantizeQ8_KScalar"/>, with AVX-512: max|x| by vectors, the signed value of its first
    /// occurrence, q = round-half-even(x · −127/max) (|q| ≤ 127, so the narrowing is exact), bsums as sums of 16.
    /// Returns false, writing nothing, for a block of zeros or one holding a NaN or an infinity (the scalar form).
    /// </summary>
    private static bool Block256(float* x, BlockQ8_K* y)
    {
        var a = Vector512<float>.Zero;
        for (int k = 0; k < 256; k += 16) a = Vector512.Max(a, Vector512.Abs(Vector512.Load(x + k)));
        if (!Vector512.LessThanOrEqualAll(a, Vector512.Create(float.MaxValue))) return false;
        float amax = HMax(a);
        if (amax == 0) return false;
        float max = 0;
        var va = Vector512.Create(amax);
        for (int k = 0; k < 256; k += 16)
        {
            ulong m = Vector512.Equals(Vector512.Abs(Vector512.Load(x + k)), va).ExtractMostSignificantBits();
            if (m != 0) { max = x[k + System.Numerics.BitOperations.TrailingZeroCount(m)]; break; }
        }
        float iscale = -127f / max;
        var vs = Vector512.Create(iscale);
        for (int k = 0; k < 256; k += 16)
        {
            var q = Vector512.Min(Avx512F.ConvertToVector512Int32(Avx512F.RoundScale(Vector512.Load(x + k) * vs, 0)), Vector512.Create(127));
            Avx512F.ConvertToVector128SByte(q).Store(y->Qs + k);
            y->BSums[k / 16] = (short)Vector512.Sum(q);
        }
        y->D = 1 / iscale;
        return true;
    }

    /// <summary>The scalar form of <see cref="QuantizeQ8_K"/> (quantize_row_q8_K_ref; the vector form's reference).</summary>
    internal static void QuantizeQ8_KScalar(float* x, BlockQ8_K* y, int n)
    {
        for (int i = 0; i < n / 256; i++, x += 256, y++)
        {
            float max = 0, amax = 0;
            for (int j = 0; j < 256; j++)
            {
                float a = MathF.Abs(x[j]);
                if (a > amax) { amax = a; max = x[j]; }
            }
            if (amax == 0)
            {
                y->D = 0;
                for (int j = 0; j < 256; j++) y->Qs[j] = 0;
                for (int j = 0; j < 16; j++) y->BSums[j] = 0;
                continue;
            }
            float iscale = -127f / max;
            for (int j = 0; j < 256; j++)
            {
                int v = (int)MathF.Round(iscale * x[j], MidpointRounding.ToEven);
                y->Qs[j] = (sbyte)Math.Min(127, v);
            }
            for (int j = 0; j < 16; j++)
            {
                int sum = 0;
                for (int l = 0; l < 16; l++) sum += y->Qs[16 * j + l];
                y->BSums[j] = (short)sum;
            }
            y->D = 1 / iscale;
        }
    }
}
