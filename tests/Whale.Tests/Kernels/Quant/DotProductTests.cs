using Whale.Gguf;
using Whale.Kernels.Quant;

namespace Whale.Tests.Kernels.Quant;

public unsafe class DotProductTests
{
    public static TheoryData<GgmlType> Types() => QuantTestData.WeightTypeData();

    private static float Simd(GgmlType t, byte* w, byte* a, int n) => t switch
    {
        GgmlType.F32 => VecDot.F32((float*)w, (float*)a, n),
        GgmlType.F16 => VecDot.F16((ushort*)w, (ushort*)a, n),
        GgmlType.BF16 => VecDot.BF16((ushort*)w, (ushort*)a, n),
        GgmlType.Q4_0 => VecDot.Q4_0Q8_0((BlockQ4_0*)w, (BlockQ8_0*)a, n),
        GgmlType.Q5_0 => VecDot.Q5_0Q8_0((BlockQ5_0*)w, (BlockQ8_0*)a, n),
        GgmlType.Q8_0 => VecDot.Q8_0Q8_0((BlockQ8_0*)w, (BlockQ8_0*)a, n),
        GgmlType.Q4_1 => VecDot.Q4_1Q8_1((BlockQ4_1*)w, (BlockQ8_1*)a, n),
        GgmlType.Q5_1 => VecDot.Q5_1Q8_1((BlockQ5_1*)w, (BlockQ8_1*)a, n),
        GgmlType.Q4_K => VecDot.Q4_KQ8_K((BlockQ4_K*)w, (BlockQ8_K*)a, n),
        GgmlType.Q5_K => VecDot.Q5_KQ8_K((BlockQ5_K*)w, (BlockQ8_K*)a, n),
        GgmlType.Q6_K => VecDot.Q6_KQ8_K((BlockQ6_K*)w, (BlockQ8_K*)a, n),
        _ => throw new NotSupportedException(),
    };

    private static float Reference(GgmlType t, byte* w, byte* a, int n) => t switch
    {
        GgmlType.F32 => ReferenceDot.F32((float*)w, (float*)a, n),
        GgmlType.F16 => ReferenceDot.F16((ushort*)w, (ushort*)a, n),
        GgmlType.BF16 => ReferenceDot.BF16((ushort*)w, (ushort*)a, n),
        GgmlType.Q4_0 => ReferenceDot.Q4_0Q8_0((BlockQ4_0*)w, (BlockQ8_0*)a, n),
        GgmlType.Q5_0 => ReferenceDot.Q5_0Q8_0((BlockQ5_0*)w, (BlockQ8_0*)a, n),
        GgmlType.Q8_0 => ReferenceDot.Q8_0Q8_0((BlockQ8_0*)w, (BlockQ8_0*)a, n),
        GgmlType.Q4_1 => ReferenceDot.Q4_1Q8_1((BlockQ4_1*)w, (BlockQ8_1*)a, n),
        GgmlType.Q5_1 => ReferenceDot.Q5_1Q8_1((BlockQ5_1*)w, (BlockQ8_1*)a, n),
        GgmlType.Q4_K => ReferenceDot.Q4_KQ8_K((BlockQ4_K*)w, (BlockQ8_K*)a, n),
        GgmlType.Q5_K => ReferenceDot.Q5_KQ8_K((BlockQ5_K*)w, (BlockQ8_K*)a, n),
        GgmlType.Q6_K => ReferenceDot.Q6_KQ8_K((BlockQ6_K*)w, (BlockQ8_K*)a, n),
        _ => throw new NotSupportedException(),
    };

    private static int[] Lengths(GgmlType t) => GgmlTypeTraits.BlockSize(t) switch
    {
        1 => [1, 7, 32, 63, 64, 100, 256, 1000, 4096, 4096 + 17],
        32 => [32, 64, 96, 160, 256, 512, 1024, 2016, 4096],
        _ => [256, 512, 768, 1280, 4096],
    };

    /// <summary>Σ |w_i·a_i| over dequantized values: the scale of the float rounding error.</summary>
    private static double AbsScale(GgmlType t, byte[] w, byte[] a, int n)
    {
        var wf = QuantTestData.Dequantize(t, w, n);
        var act = ActivationQuantizer.VecDotType(t);
        var af = new float[n];
        fixed (byte* pa = a)
        fixed (float* pf = af)
        {
            if (act == GgmlType.Q8_K)
                for (int b = 0; b < n / 256; b++)
                {
                    var blk = (BlockQ8_K*)pa + b;
                    for (int j = 0; j < 256; j++) pf[256 * b + j] = blk->D * blk->Qs[j];
                }
            else if (act == GgmlType.Q8_1)
                for (int b = 0; b < n / 32; b++)
                {
                    var blk = (BlockQ8_1*)pa + b;
                    for (int j = 0; j < 32; j++) pf[32 * b + j] = Fp16.ToFloat(blk->D) * blk->Qs[j];
                }
            else
                Quantizer.DequantizeRow(act, pa, pf, n);
        }
        double s = 0;
        for (int i = 0; i < n; i++) s += Math.Abs((double)wf[i] * af[i]);
        return s;
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void SimdMatchesReferenceOnQuantizedRandomData(GgmlType type)
    {
        var rng = new Random(77 + (int)type);
        foreach (int n in Lengths(type))
        {
            for (int rep = 0; rep < 3; rep++)
            {
                var w = QuantTestData.Quantize(type, QuantTestData.RandomFloats(rng, n, 0.05f));
                var a = QuantTestData.Activations(type, QuantTestData.RandomFloats(rng, n, 3f));
                float s, r;
                fixed (byte* pw = w)
                fixed (byte* pa = a)
                {
                    s = Simd(type, pw, pa, n);
                    r = Reference(type, pw, pa, n);
                }
                double tol = 2e-6 * AbsScale(type, w, a, n) + 1e-7;
                Assert.True(Math.Abs(s - r) <= tol, $"{type} n={n}: simd {s} ref {r} tol {tol}");
            }
        }
    }

    private static void SetHalf(byte[] b, int offset, float v)
        => BitConverter.TryWriteBytes(b.AsSpan(offset, 2), BitConverter.HalfToUInt16Bits((Half)v));

    /// <summary>Raw random blocks (every bit pattern of the quants) with unit scales: results are exact integers.</summary>
    private static (byte[] w, byte[] a) RawIntegerBlocks(GgmlType t, int n, Random rng)
    {
        var w = new byte[GgmlTypeTraits.RowBytes(t, n)];
        rng.NextBytes(w);
        int bb = GgmlTypeTraits.BlockBytes(t);
        for (int off = 0; off < w.Length; off += bb)
        {
            switch (t)
            {
                case GgmlType.Q4_0 or GgmlType.Q5_0: SetHalf(w, off, 1); break;
                case GgmlType.Q4_1 or GgmlType.Q5_1: SetHalf(w, off, 1); SetHalf(w, off + 2, rng.Next(-3, 4)); break;
                case GgmlType.Q8_0:
                    SetHalf(w, off, 1);
                    for (int j = 0; j < 32; j++) if (w[off + 2 + j] == 0x80) w[off + 2 + j] = 0x81;
                    break;
                case GgmlType.Q4_K or GgmlType.Q5_K:
                    SetHalf(w, off, 1); SetHalf(w, off + 2, 1);
                    for (int j = 0; j < 12; j++) w[off + 4 + j] &= 0b0011_0011; // 6-bit scales/mins in 0..3
                    break;
                case GgmlType.Q6_K:
                    for (int j = 0; j < 16; j++) w[off + 192 + j] = (byte)(sbyte)rng.Next(-3, 4);
                    SetHalf(w, off + 208, 1);
                    break;
            }
        }
        var act = ActivationQuantizer.VecDotType(t);
        var a = new byte[GgmlTypeTraits.RowBytes(act, n)];
        int ab = GgmlTypeTraits.BlockBytes(act);
        for (int off = 0; off < a.Length; off += ab)
        {
            if (act == GgmlType.Q8_K)
            {
                BitConverter.TryWriteBytes(a.AsSpan(off, 4), 1f);
                for (int g = 0; g < 16; g++)
                {
                    int sum = 0;
                    for (int l = 0; l < 16; l++)
                    {
                        sbyte q = (sbyte)rng.Next(-127, 128);
                        a[off + 4 + 16 * g + l] = (byte)q;
                        sum += q;
                    }
                    BitConverter.TryWriteBytes(a.AsSpan(off + 260 + 2 * g, 2), (short)sum);
                }
            }
            else
            {
                int qoff = act == GgmlType.Q8_1 ? 4 : 2;
                SetHalf(a, off, 1);
                if (act == GgmlType.Q8_1) SetHalf(a, off + 2, rng.Next(-50, 50));
                for (int j = 0; j < 32; j++) a[off + qoff + j] = (byte)(sbyte)rng.Next(-127, 128);
            }
        }
        return (w, a);
    }

    [Theory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_1)]
    [InlineData(GgmlType.Q5_0)]
    [InlineData(GgmlType.Q5_1)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    public void IntegerPartsAreExact(GgmlType type)
    {
        var rng = new Random(5 + (int)type);
        int[] lengths = GgmlTypeTraits.BlockSize(type) == 32 ? [32, 64, 96, 128, 224, 512] : [256, 512];
        foreach (int n in lengths)
        {
            for (int rep = 0; rep < 5; rep++)
            {
                var (w, a) = RawIntegerBlocks(type, n, rng);
                // exact expectation from dequantized values (all integers, sums below 2^24)
                var wf = QuantTestData.Dequantize(type, w, n);
                double expect = 0;
                var act = ActivationQuantizer.VecDotType(type);
                int ab = GgmlTypeTraits.BlockBytes(act), bs = GgmlTypeTraits.BlockSize(act);
                int qoff = act switch { GgmlType.Q8_K => 4, GgmlType.Q8_1 => 4, _ => 2 };
                for (int i = 0; i < n; i++)
                    expect += wf[i] * (sbyte)a[i / bs * ab + qoff + i % bs];
                float s, r;
                fixed (byte* pw = w)
                fixed (byte* pa = a)
                {
                    s = Simd(type, pw, pa, n);
                    r = Reference(type, pw, pa, n);
                }
                if (act == GgmlType.Q8_1)
                {
                    // + Σ m·s per block (integers here)
                    for (int b = 0; b < n / 32; b++)
                        expect += Fp16.ToFloat(BitConverter.ToUInt16(w, b * GgmlTypeTraits.BlockBytes(type) + 2))
                            * Fp16.ToFloat(BitConverter.ToUInt16(a, b * 36 + 2))
                            - Fp16.ToFloat(BitConverter.ToUInt16(w, b * GgmlTypeTraits.BlockBytes(type) + 2)) * SumQ(a, b * 36 + 4);
                }
                Assert.Equal(r, s);
                Assert.Equal(expect, (double)r);
            }
        }
    }

    // dequantized Q4_1/Q5_1 values include +m for every element; the Q8_1 dot instead adds m·s, so swap terms.
    private static int SumQ(byte[] a, int off)
    {
        int s = 0;
        for (int j = 0; j < 32; j++) s += (sbyte)a[off + j];
        return s;
    }
}
