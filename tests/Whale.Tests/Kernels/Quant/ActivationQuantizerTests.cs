using Whale.Gguf;
using Whale.Kernels.Quant;

namespace Whale.Tests.Kernels.Quant;

public unsafe class ActivationQuantizerTests
{
    [Fact]
    public void Q8_0RoundsHalfToEvenWithMultiplierAndStoresFp16Scale()
    {
        var x = new float[32];
        x[0] = 127f; x[1] = 2.5f; x[2] = 3.5f; x[3] = -2.5f; x[4] = -0.5f; x[5] = 0.49f; x[6] = -127f;
        var q = new BlockQ8_0[1];
        fixed (float* px = x)
        fixed (BlockQ8_0* pq = q)
        {
            ActivationQuantizer.QuantizeQ8_0(px, pq, 32);
            Assert.Equal(Fp16.FromFloat(1f), pq->D);
            Assert.Equal(127, pq->Qs[0]);
            Assert.Equal(2, pq->Qs[1]);
            Assert.Equal(4, pq->Qs[2]);
            Assert.Equal(-2, pq->Qs[3]);
            Assert.Equal(0, pq->Qs[4]);
            Assert.Equal(0, pq->Qs[5]);
            Assert.Equal(-127, pq->Qs[6]);
        }
    }

    [Fact]
    public void Q8_0UsesUnroundedMultiplier()
    {
        var rng = new Random(3);
        var x = QuantTestData.RandomFloats(rng, 1024, 0.37f);
        var q = new BlockQ8_0[32];
        fixed (float* px = x)
        fixed (BlockQ8_0* pq = q)
        {
            ActivationQuantizer.QuantizeQ8_0(px, pq, x.Length);
            for (int b = 0; b < 32; b++)
            {
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = Math.Max(amax, Math.Abs(x[32 * b + j]));
                float id = 127f / amax;
                Assert.Equal(BitConverter.HalfToUInt16Bits((Half)(amax / 127f)), pq[b].D);
                for (int j = 0; j < 32; j++)
                    Assert.Equal((int)Math.Round(x[32 * b + j] * id, MidpointRounding.ToEven), pq[b].Qs[j]);
            }
        }
    }

    [Fact]
    public void Q8_0VectorFormEqualsScalarFormIncludingSpecialValues()
    {
        var rng = new Random(11);
        for (int trial = 0; trial < 200; trial++)
        {
            var x = Trial(rng, trial, 32, 48);                              // trial % 10 == 0: an all-zero block (d = 0, id = 0)
            int blocks = x.Length / 32;
            if (trial % 10 == 1) for (int j = 0; j < 32; j++) x[j] = (j - 16) * 0.5f; // exact halves: ties to even
            var a = new BlockQ8_0[blocks];
            var b = new BlockQ8_0[blocks];
            fixed (float* px = x)
            fixed (BlockQ8_0* pa = a)
            fixed (BlockQ8_0* pb = b)
            {
                ActivationQuantizer.QuantizeQ8_0(px, pa, x.Length);
                ActivationQuantizer.QuantizeQ8_0Scalar(px, pb, x.Length);
                for (int i = 0; i < blocks; i++)
                {
                    Assert.Equal(pb[i].D, pa[i].D);
                    for (int j = 0; j < 32; j++) Assert.Equal(pb[i].Qs[j], pa[i].Qs[j]);
                }
            }
        }
    }

    [Fact]
    public void Q8_KVectorFormEqualsScalarFormIncludingSpecialValues()
    {
        var rng = new Random(12);
        for (int trial = 0; trial < 120; trial++)
        {
            var x = Trial(rng, trial, 256, 6);                                   // trial % 10 == 0: a block of zeros
            int blocks = x.Length / 256;
            if (trial % 10 == 1) { x[3] = 5f; x[200] = -5f; }                   // ties for max|x|: the first one's sign wins
            if (trial % 10 == 2) { x[3] = -5f; x[200] = 5f; }
            if (trial % 10 == 3) for (int j = 0; j < 256; j++) x[j] = (j % 7 - 3) * 42.333332f; // many exact-tie candidates
            var a = new BlockQ8_K[blocks];
            var b = new BlockQ8_K[blocks];
            fixed (float* px = x)
            fixed (BlockQ8_K* pa = a)
            fixed (BlockQ8_K* pb = b)
            {
                ActivationQuantizer.QuantizeQ8_K(px, pa, x.Length);
                ActivationQuantizer.QuantizeQ8_KScalar(px, pb, x.Length);
                for (int i = 0; i < blocks; i++)
                {
                    Assert.Equal(BitConverter.SingleToInt32Bits(pb[i].D), BitConverter.SingleToInt32Bits(pa[i].D));
                    for (int j = 0; j < 256; j++) Assert.Equal(pb[i].Qs[j], pa[i].Qs[j]);
                    for (int j = 0; j < 16; j++) Assert.Equal(pb[i].BSums[j], pa[i].BSums[j]);
                }
            }
        }
    }

    [Fact]
    public void Q8_1SumUsesUnroundedScale()
    {
        var rng = new Random(4);
        var x = QuantTestData.RandomFloats(rng, 64, 1.3f);
        var q = new BlockQ8_1[2];
        fixed (float* px = x)
        fixed (BlockQ8_1* pq = q)
        {
            ActivationQuantizer.QuantizeQ8_1(px, pq, 64);
            for (int b = 0; b < 2; b++)
            {
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = Math.Max(amax, Math.Abs(x[32 * b + j]));
                int sum = 0;
                for (int j = 0; j < 32; j++) sum += pq[b].Qs[j];
                Assert.Equal(Fp16.FromFloat(amax / 127f * sum), pq[b].S);
                Assert.Equal(Fp16.FromFloat(amax / 127f), pq[b].D);
            }
        }
    }

    [Fact]
    public void Q8_KUsesSignedMaxNearestEvenAndBlockSums()
    {
        var x = new float[256];
        x[0] = 2.5f; x[1] = -127f; x[2] = 3.5f; x[3] = 127f; // first max by |x| is -127 → iscale = 1
        var q = new BlockQ8_K[1];
        fixed (float* px = x)
        fixed (BlockQ8_K* pq = q)
        {
            ActivationQuantizer.QuantizeQ8_K(px, pq, 256);
            Assert.Equal(1f, pq->D);
            Assert.Equal(2, pq->Qs[0]);
            Assert.Equal(-127, pq->Qs[1]);
            Assert.Equal(4, pq->Qs[2]);
            Assert.Equal(127, pq->Qs[3]);
            Assert.Equal(2 - 127 + 4 + 127, pq->BSums[0]);
            Assert.Equal(0, pq->BSums[1]);
        }
        x[1] = 127f; x[3] = 1f; // positive max → iscale = −1, d = −1
        fixed (float* px = x)
        fixed (BlockQ8_K* pq = q)
        {
            ActivationQuantizer.QuantizeQ8_K(px, pq, 256);
            Assert.Equal(-1f, pq->D);
            Assert.Equal(-2, pq->Qs[0]);
            Assert.Equal(-127, pq->Qs[1]);
        }
    }

    [Fact]
    public void ZeroBlocksQuantizeToZero()
    {
        var x = new float[256];
        foreach (var t in new[] { GgmlType.Q8_0, GgmlType.Q8_1, GgmlType.Q8_K })
        {
            var q = new byte[GgmlTypeTraits.RowBytes(t, 256)];
            Array.Fill(q, (byte)0xAB);
            fixed (float* px = x)
            fixed (byte* pq = q)
                ActivationQuantizer.Convert(t, px, pq, 256);
            Assert.All(q, b => Assert.Equal(0, b));
        }
    }

    [Fact]
    public void F16ActivationsRoundToNearestEven()
    {
        var rng = new Random(9);
        var x = QuantTestData.RandomFloats(rng, 300, 10f);
        var q = new ushort[300];
        fixed (float* px = x)
        fixed (ushort* pq = q)
            ActivationQuantizer.Convert(GgmlType.F16, px, (byte*)pq, 300);
        for (int i = 0; i < x.Length; i++) Assert.Equal(BitConverter.HalfToUInt16Bits((Half)x[i]), q[i]);
    }

    private static readonly float[] Specials = [0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue,
        -float.MaxValue, float.Epsilon, 1e-30f, 0.5f, -0.5f, 1.5f, 126.5f];

    /// <summary>
    /// Activations for a vector-vs-scalar trial: 1..maxBlocks blocks of random values at three magnitudes; every 4th
    /// trial has three special values (NaN, infinities, extremes, subnormals, halves), every 10th a first block of zeros.
    /// </summary>
    private static float[] Trial(Random rng, int trial, int blockValues, int maxBlocks)
    {
        int blocks = 1 + rng.Next(maxBlocks);
        var x = QuantTestData.RandomFloats(rng, blockValues * blocks, trial % 3 == 0 ? 1e-3f : trial % 3 == 1 ? 7f : 300f);
        if (trial % 4 == 0) for (int k = 0; k < 3; k++) x[rng.Next(x.Length)] = Specials[rng.Next(Specials.Length)];
        if (trial % 10 == 0) Array.Clear(x, 0, blockValues);
        return x;
    }
}
