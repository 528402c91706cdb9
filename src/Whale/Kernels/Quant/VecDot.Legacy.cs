using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

// Q4_0/Q5_0/Q8_0 × Q8_0 and Q4_1/Q5_1 × Q8_1 (ggml_vec_dot_*, AVX2 paths).
internal static unsafe partial class VecDot
{
    public static float Q4_0Q8_0(BlockQ4_0* x, BlockQ8_0* y, int n)
    {
        if (!IsAccelerated) return ReferenceDot.Q4_0Q8_0(x, y, n);
        var acc = Vector256<float>.Zero;
        var off = Vector256.Create((sbyte)8);
        for (int ib = 0; ib < n / 32; ib++, x++, y++)
        {
            var d = Vector256.Create(Fp16.ToFloat(x->D) * Fp16.ToFloat(y->D));
            var qx = Nibbles32(x->Qs).AsSByte() - off;
            var q = Avx.ConvertToVector256Single(DotS8S8(qx, Vector256.Load(y->Qs)));
            acc = Fma.MultiplyAdd(d, q, acc);
        }
        return HSum(acc);
    }

    public static float Q8_0Q8_0(BlockQ8_0* x, BlockQ8_0* y, int n)
    {
        if (!IsAccelerated) return ReferenceDot.Q8_0Q8_0(x, y, n);
        var acc = Vector256<float>.Zero;
        for (int ib = 0; ib < n / 32; ib++, x++, y++)
        {
            var d = Vector256.Create(Fp16.ToFloat(x->D) * Fp16.ToFloat(y->D));
            var q = Avx.ConvertToVector256Single(DotS8S8(Vector256.Load(x->Qs), Vector256.Load(y->Qs)));
            acc = Fma.MultiplyAdd(d, q, acc);
        }
        return HSum(acc);
    }

    public static float Q5_0Q8_0(BlockQ5_0* x, BlockQ8_0* y, int n)
    {
        if (!IsAccelerated) return ReferenceDot.Q5_0Q8_0(x, y, n);
        var acc = Vector256<float>.Zero;
        var f0 = Vector256.Create((byte)0xF0);
        for (int ib = 0; ib < n / 32; ib++, x++, y++)
        {
            var d = Vector256.Create(Fp16.ToFloat(x->D) * Fp16.ToFloat(y->D));
            // (nibble | 16·bit) − 16 == nibble | (bit ? 0 : 0xF0) as a signed byte
            var hi = Avx2.AndNot(BitsToBytes(*(uint*)x->Qh), f0);
            var qx = (Nibbles32(x->Qs) | hi).AsSByte();
            var q = Avx.ConvertToVector256Single(DotS8S8(qx, Vector256.Load(y->Qs)));
            acc = Fma.MultiplyAdd(d, q, acc);
        }
        return HSum(acc);
    }

    public static float Q4_1Q8_1(BlockQ4_1* x, BlockQ8_1* y, int n)
    {
        if (!IsAccelerated) return ReferenceDot.Q4_1Q8_1(x, y, n);
        var acc = Vector256<float>.Zero;
        float summs = 0;
        for (int ib = 0; ib < n / 32; ib++, x++, y++)
        {
            summs = MathF.FusedMultiplyAdd(Fp16.ToFloat(x->M), Fp16.ToFloat(y->S), summs);
            var d = Vector256.Create(Fp16.ToFloat(x->D)) * Vector256.Create(Fp16.ToFloat(y->D));
            var q = Avx.ConvertToVector256Single(DotU8S8(Nibbles32(x->Qs), Vector256.Load(y->Qs)));
            acc = Fma.MultiplyAdd(d, q, acc);
        }
        return HSum(acc) + summs;
    }

    public static float Q5_1Q8_1(BlockQ5_1* x, BlockQ8_1* y, int n)
    {
        if (!IsAccelerated) return ReferenceDot.Q5_1Q8_1(x, y, n);
        var acc = Vector256<float>.Zero;
        var b4 = Vector256.Create((byte)0x10);
        float summs = 0;
        for (int ib = 0; ib < n / 32; ib++, x++, y++)
        {
            summs = MathF.FusedMultiplyAdd(Fp16.ToFloat(x->M), Fp16.ToFloat(y->S), summs);
            var d = Vector256.Create(Fp16.ToFloat(x->D)) * Vector256.Create(Fp16.ToFloat(y->D));
            var qx = Nibbles32(x->Qs) | (BitsToBytes(*(uint*)x->Qh) & b4);
            var q = Avx.ConvertToVector256Single(DotU8S8(qx, Vector256.Load(y->Qs)));
            acc = Fma.MultiplyAdd(d, q, acc);
        }
        return HSum(acc) + summs;
    }
}
