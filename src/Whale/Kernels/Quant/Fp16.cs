using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

/// <summary>IEEE fp16 and bf16 bit conversions with ggml semantics.</summary>
internal static class Fp16
{
    // fp16 -> f32 through a 64K table, as ggml-cpu does (GGML_CPU_FP16_TO_FP32); exact either way.
    private static readonly float[] Table = BuildTable();

    private static float[] BuildTable()
    {
        var t = new float[65536];
        for (int i = 0; i < t.Length; i++)
            t[i] = (float)BitConverter.UInt16BitsToHalf((ushort)i);
        return t;
    }

    /// <summary>fp16 bits to f32 (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort h) => Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Table), h);

    /// <summary>
    /// Eight fp16 values to f32, exactly as <see cref="ToFloat(ushort)"/> for every finite value and infinity (NaNs stay NaN):
    /// normal values by moving the exponent, subnormals as an exact int-to-float conversion times 2^-24. AVX2 only
    /// (.NET 10 has no F16C intrinsic).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToFloat8(Vector128<ushort> h)
    {
        var x = Avx2.ConvertToVector256Int32(h);                         // zero-extended
        var sign = (x & Vector256.Create(0x8000)) << 16;
        var mag = x & Vector256.Create(0x7fff);
        var normal = (mag << 13) + Vector256.Create(112 << 23);           // exponent bias 15 -> 127
        var special = normal + Vector256.Create(112 << 23);               // exponent 31 -> 255 (inf, NaN)
        var sub = (Avx.ConvertToVector256Single(mag) * Vector256.Create(1f / 16777216f)).AsInt32();
        var r = Vector256.ConditionalSelect(Vector256.LessThan(mag, Vector256.Create(0x400)), sub,
            Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(mag, Vector256.Create(0x7c00)), special, normal));
        return (r | sign).AsSingle();
    }

    /// <summary>
    /// Eight <em>finite</em> fp16 values to f32 in four operations, exactly as <see cref="ToFloat(ushort)"/> (infinities and NaNs
    /// come out as finite garbage: callers check their inputs, e.g. <see cref="Q8_0Repacked.Create"/>): the sign-extended
    /// bits shifted into f32 position with the sign kept and the three spare exponent bits cleared read as the value
    /// times 2⁻¹¹², which one exact multiplication by 2¹¹² undoes (subnormal halves become f32 subnormals first: the
    /// product is still exact).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> FiniteToFloat8(Vector128<short> h)
        => (Avx2.ConvertToVector256Int32(h) << 13 & Vector256.Create(unchecked((int)0x8FFFE000))).AsSingle() * Vector256.Create(BitConverter.Int32BitsToSingle(0x77800000));   // 2^112

    /// <summary>
    /// <paramref name="n"/> fp16 values to f32, exactly as <see cref="ToFloat(ushort)"/>: 16 at a time with AVX-512 in
    /// <see cref="FiniteToFloat8"/>'s four operations, a vector holding an infinity or NaN (rare) and the tail through
    /// the table. For the short rows of the attention caches (a head's 64-128 values), where
    /// <c>TensorPrimitives.ConvertToSingle</c>'s per-call cost dominated.
    /// </summary>
    public static unsafe void ToFloat(ushort* src, float* dst, int n)
    {
        int i = 0;
        if (Avx512F.IsSupported)
        {
            var scale = Vector512.Create(BitConverter.Int32BitsToSingle(0x77800000));   // 2^112
            var keep = Vector512.Create(unchecked((int)0x8FFFE000));
            var exponent = Vector256.Create((ushort)0x7c00);
            for (; i + 16 <= n; i += 16)
            {
                var h = Vector256.Load(src + i);
                if (Vector256.EqualsAny(h & exponent, exponent))
                {
                    for (int k = i; k < i + 16; k++) dst[k] = ToFloat(src[k]);
                    continue;
                }
                ((Avx512F.ConvertToVector512Int32(h.AsInt16()) << 13 & keep).AsSingle() * scale).Store(dst + i);
            }
        }
        for (; i < n; i++) dst[i] = ToFloat(src[i]);
    }

    /// <summary>True when the fp16 bits are a finite value (exponent not 31).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsFinite(ushort h) => (h & 0x7c00) != 0x7c00;

    /// <summary>f32 to fp16 bits, round to nearest even (as F16C _cvtss_sh / System.Half).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromFloat(float f) => BitConverter.HalfToUInt16Bits((Half)f);

    /// <summary>bf16 bits to f32: bits &lt;&lt; 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BF16ToFloat(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    /// <summary>f32 to bf16 bits with ggml's rounding (ggml-impl.h): NaN made quiet, else round to nearest even.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FloatToBF16(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if ((bits & 0x7fffffff) > 0x7f800000)
            return (ushort)((bits >> 16) | 64);
        return (ushort)((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
    }
}
