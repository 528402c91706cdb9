using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

// Q4_K/Q5_K/Q6_K × Q8_K (ggml_vec_dot_q*_K_q8_K, AVX2 paths).
internal static unsafe partial class VecDot
{
    /// <summary>Unpacks the 8 scales and 8 mins, and returns the 4 lanes of Σ m·(bsum pairs) (madd of mins, q8s).</summary>
    private static Vector128<int> KScalesMins(byte* packed, short* bsums, int* sc)
    {
        int* m = stackalloc int[8];
        for (int j = 0; j < 8; j++) Quantizer.ScaleMinK4(j, packed, out sc[j], out m[j]);
        int* p = stackalloc int[4];
        for (int k = 0; k < 4; k++)
        {
            int s0 = (short)(bsums[4 * k] + bsums[4 * k + 1]), s1 = (short)(bsums[4 * k + 2] + bsums[4 * k + 3]);
            p[k] = m[2 * k] * s0 + m[2 * k + 1] * s1;
        }
        return Vector128.Load(p);
    }

    public static float Q4_KQ8_K(BlockQ4_K* x, BlockQ8_K* y, int n)
    {
        if (!IsAccelerated) return ReferenceDot.Q4_KQ8_K(x, y, n);
        int* sc = stackalloc int[8];
        var acc = Vector256<float>.Zero;
        var accM = Vector128<float>.Zero;
        var m4 = Vector256.Create((byte)0xF);
        for (int i = 0; i < n / 256; i++, x++, y++)
        {
            float d = y->D * Fp16.ToFloat(x->D);
            float dmin = -y->D * Fp16.ToFloat(x->DMin);
            var prod = KScalesMins(x->Scales, y->BSums, sc);
            accM = Fma.MultiplyAdd(Vector128.Create(dmin), Sse2.ConvertToVector128Single(prod), accM);
            byte* q4 = x->Qs;
            sbyte* q8 = y->Qs;
            var sumi = Vector256<int>.Zero;
            for (int j = 0; j < 4; j++, q4 += 32, q8 += 64)
            {
                var bits = Vector256.Load(q4);
                var lo = bits & m4;
                var hi = Vector256.ShiftRightLogical(bits.AsUInt16(), 4).AsByte() & m4;
                sumi += DotU8S8Scaled(lo, Vector256.Load(q8), sc[2 * j], sc[2 * j]);
                sumi += DotU8S8Scaled(hi, Vector256.Load(q8 + 32), sc[2 * j + 1], sc[2 * j + 1]);
            }
            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sumi), acc);
        }
        return HSum(acc) + HSum(accM);
    }

    public static float Q5_KQ8_K(BlockQ5_K* x, BlockQ8_K* y, int n)
    {
        if (!IsAccelerated) return ReferenceDot.Q5_KQ8_K(x, y, n);
        int* sc = stackalloc int[8];
        var acc = Vector256<float>.Zero;
        float summs = 0;
        var m4 = Vector256.Create((byte)0xF);
        var b4 = Vector256.Create((byte)0x10);
        for (int i = 0; i < n / 256; i++, x++, y++)
        {
            float d = y->D * Fp16.ToFloat(x->D);
            float dmin = -y->D * Fp16.ToFloat(x->DMin);
            var prod = KScalesMins(x->Scales, y->BSums, sc);
            int hs = prod.GetElement(0) + prod.GetElement(1) + prod.GetElement(2) + prod.GetElement(3);
            summs = MathF.FusedMultiplyAdd(dmin, hs, summs);
            var hbits = Vector256.Load(x->Qh);
            byte* q5 = x->Qs;
            sbyte* q8 = y->Qs;
            var sumi = Vector256<int>.Zero;
            for (int j = 0; j < 4; j++, q5 += 32, q8 += 64)
            {
                var bits = Vector256.Load(q5);
                var mlo = Vector256.Create((byte)(1 << (2 * j)));
                var mhi = Vector256.Create((byte)(2 << (2 * j)));
                var lo = (bits & m4) | (Vector256.Equals(hbits & mlo, mlo) & b4);
                var hi = (Vector256.ShiftRightLogical(bits.AsUInt16(), 4).AsByte() & m4)
                    | (Vector256.Equals(hbits & mhi, mhi) & b4);
                sumi += DotU8S8Scaled(lo, Vector256.Load(q8), sc[2 * j], sc[2 * j]);
                sumi += DotU8S8Scaled(hi, Vector256.Load(q8 + 32), sc[2 * j + 1], sc[2 * j + 1]);
            }
            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sumi), acc);
        }
        return HSum(acc) + summs;
    }

    public static float Q6_KQ8_K(BlockQ6_K* x, BlockQ8_K* y, int n)
    {
        if (!IsAccelerated) return ReferenceDot.Q6_KQ8_K(x, y, n);
        var acc = Vector256<float>.Zero;
        var m4 = Vector256.Create((byte)0xF);
        var m3 = Vector256.Create((byte)3);
        var m32 = Vector256.Create((byte)32);
        for (int i = 0; i < n / 256; i++, x++, y++)
        {
            float d = y->D * Fp16.ToFloat(x->D);
            byte* ql = x->Ql;
            byte* qh = x->Qh;
            sbyte* q8 = y->Qs;
            sbyte* s = x->Scales;
            var sumi = Vector256<int>.Zero;
            for (int j = 0; j < 2; j++, ql += 64, qh += 32, q8 += 128, s += 8)
            {
                var b1 = Vector256.Load(ql);
                var b2 = Vector256.Load(ql + 32);
                var h = Vector256.Load(qh);
                var q0 = (b1 & m4) | Vector256.ShiftLeft((h & m3).AsUInt16(), 4).AsByte();
                var q1 = (b2 & m4) | Vector256.ShiftLeft((Vector256.ShiftRightLogical(h.AsUInt16(), 2).AsByte() & m3).AsUInt16(), 4).AsByte();
                var q2 = (Vector256.ShiftRightLogical(b1.AsUInt16(), 4).AsByte() & m4)
                    | Vector256.ShiftLeft((Vector256.ShiftRightLogical(h.AsUInt16(), 4).AsByte() & m3).AsUInt16(), 4).AsByte();
                var q3 = (Vector256.ShiftRightLogical(b2.AsUInt16(), 4).AsByte() & m4)
                    | Vector256.ShiftLeft((Vector256.ShiftRightLogical(h.AsUInt16(), 6).AsByte() & m3).AsUInt16(), 4).AsByte();
                sumi += Q6Chunk(q0, Vector256.Load(q8), m32, s[0], s[1]);
                sumi += Q6Chunk(q1, Vector256.Load(q8 + 32), m32, s[2], s[3]);
                sumi += Q6Chunk(q2, Vector256.Load(q8 + 64), m32, s[4], s[5]);
                sumi += Q6Chunk(q3, Vector256.Load(q8 + 96), m32, s[6], s[7]);
            }
            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sumi), acc);
        }
        return HSum(acc);
    }

    /// <summary>Lanes of scale·Σ (q6 − 32)·q8 for one 32-value chunk (two 16-value scales).</summary>
    private static Vector256<int> Q6Chunk(Vector256<byte> q6, Vector256<sbyte> q8, Vector256<byte> m32, int s0, int s1)
    {
        if (AvxVnni.IsSupported)
        {
            var p = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, q6, q8)
                - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, m32, q8);
            return Avx2.MultiplyLow(p, Vector256.Create(Vector128.Create(s0), Vector128.Create(s1)));
        }
        var p16 = Avx2.MultiplyAddAdjacent(q6, q8) - Avx2.MultiplyAddAdjacent(m32, q8);
        return Avx2.MultiplyAddAdjacent(p16, Vector256.Create(Vector128.Create((short)s0), Vector128.Create((short)s1)));
    }
}
