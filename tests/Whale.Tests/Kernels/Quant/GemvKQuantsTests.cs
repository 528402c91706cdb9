using Whale.Gguf;
using Whale.Kernels;
using Whale.Kernels.Quant;

namespace Whale.Tests.Kernels.Quant;

/// <summary>
/// The batch-1 K-quant products (<see cref="GemvKQuants"/>) against the row dots (<see cref="VecDot"/>): every
/// output bit-identical, over lengths of 1 to 35 super-blocks, row ranges that are and are not multiples of the
/// four-row pass (remainder rows, ranges starting inside a pass), realistic and random blocks with extreme scales,
/// and activation rows of very different magnitudes (zero rows, random Q8_K blocks whose bsums disagree with
/// their quants, quants of −128).
/// </summary>
public unsafe class GemvKQuantsTests
{
    public static TheoryData<GgmlType> Types() => new() { GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K };

    private static float RowDot(GgmlType t, byte* w, byte* a, int n) => t switch
    {
        GgmlType.Q4_K => VecDot.Q4_KQ8_K((BlockQ4_K*)w, (BlockQ8_K*)a, n),
        GgmlType.Q5_K => VecDot.Q5_KQ8_K((BlockQ5_K*)w, (BlockQ8_K*)a, n),
        GgmlType.Q6_K => VecDot.Q6_KQ8_K((BlockQ6_K*)w, (BlockQ8_K*)a, n),
        _ => throw new NotSupportedException(t.ToString()),
    };

    private static readonly int[] Lengths = [256, 512, 768, 1536, 2816, 8960];

    private static readonly (int R0, int R1)[] Ranges =
        [(0, 1), (0, 3), (0, 4), (0, 5), (0, 8), (1, 9), (3, 14), (0, 17), (2, 4), (5, 6)];

    [Theory]
    [MemberData(nameof(Types))]
    public void GemvEqualsRowDotBitForBit(GgmlType type)
    {
        if (!GemvKQuants.IsSupported)
        {
            RefusedWithoutAvx2(type);
            return;
        }
        var rng = new Random(4321 + (int)type);
        foreach (int n in Lengths)
            foreach (var (r0, r1) in Ranges)
                for (int rep = 0; rep < 3; rep++)
                    Check(type, n, r0, r1, rng);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void GemvWritesOnlyItsRowRange(GgmlType type)
    {
        if (!GemvKQuants.IsSupported)
        {
            RefusedWithoutAvx2(type);
            return;
        }
        const int rows = 13, r0 = 1, r1 = 11, n = 768;
        var rng = new Random(99 + (int)type);
        var w = KQuantData.RandomWeights(type, rows, n, rng);
        var a = KQuantData.RandomActivations(1, n, rng);
        long rb = GgmlTypeTraits.RowBytes(type, n);
        var y = new float[rows];
        y.AsSpan().Fill(float.NaN);
        fixed (byte* pw = w)
        fixed (byte* pa = a)
        fixed (float* py = y)
        {
            Assert.True(GemvKQuants.TryMatVec(type, pw, rb, r0, r1, pa, n, py));
            for (int r = 0; r < rows; r++)
            {
                if (r >= r0 && r < r1)
                    Assert.Equal(BitConverter.SingleToInt32Bits(RowDot(type, pw + r * rb, pa, n)), BitConverter.SingleToInt32Bits(y[r]));
                else
                    Assert.True(float.IsNaN(y[r]), $"wrote outside rows [{r0}, {r1}) at r={r}");
            }
        }
    }

    public static TheoryData<GgmlType> SmallBatchTypes() => new() { GgmlType.Q4_K, GgmlType.Q5_K };

    [Theory]
    [MemberData(nameof(SmallBatchTypes))]
    public void SmallBatchEqualsRowDotBitForBit(GgmlType type)
    {
        if (!GemvKQuants.IsSupported)
        {
            RefusedWithoutAvx2(type);
            return;
        }
        var rng = new Random(8765 + (int)type);
        foreach (int n in Lengths)
            foreach (var (r0, r1) in Ranges)
                for (int batch = 2; batch <= GemvKQuants.MaxSmallBatch; batch++)
                {
                    long rb = GgmlTypeTraits.RowBytes(type, n), ab = GgmlTypeTraits.RowBytes(GgmlType.Q8_K, n);
                    var w = KQuantData.RandomWeights(type, r1, n, rng);
                    var a = KQuantData.RandomActivations(batch, n, rng);
                    int stride = r1 + 3;
                    var y = new float[batch * stride];
                    y.AsSpan().Fill(float.NaN);
                    fixed (byte* pw = w)
                    fixed (byte* pa = a)
                    fixed (float* py = y)
                    {
                        Assert.True(GemvKQuants.TryMatMulSmall(type, pw, rb, r0, r1, pa, ab, batch, n, py, stride));
                        for (int b = 0; b < batch; b++)
                            for (int r = 0; r < stride; r++)
                            {
                                float v = y[b * stride + r];
                                if (r < r0 || r >= r1)
                                {
                                    Assert.True(float.IsNaN(v), $"wrote outside rows [{r0}, {r1}) at r={r} b={b}");
                                    continue;
                                }
                                float e = RowDot(type, pw + r * rb, pa + b * ab, n);
                                if (BitConverter.SingleToInt32Bits(e) != BitConverter.SingleToInt32Bits(v))
                                    Assert.Fail($"{type} n={n} rows [{r0}, {r1}) batch={batch}: y[{b},{r}] = {v:R}, row dot {e:R}");
                            }
                    }
                }
    }

    [Fact]
    public void SmallBatchRefusesOtherTypesAndSizes()
    {
        float y = float.NaN;
        byte dummy = 0;
        Assert.False(GemvKQuants.TryMatMulSmall(GgmlType.Q6_K, &dummy, 210, 0, 1, &dummy, 292, 2, 256, &y, 1));
        Assert.False(GemvKQuants.TryMatMulSmall(GgmlType.Q4_K, &dummy, 144, 0, 1, &dummy, 292, 1, 256, &y, 1));
        Assert.False(GemvKQuants.TryMatMulSmall(GgmlType.Q4_K, &dummy, 144, 0, 1, &dummy, 292, GemvKQuants.MaxSmallBatch + 1, 256, &y, 1));
        Assert.True(float.IsNaN(y));
    }

    [Fact]
    public void OtherTypesAreRefused()
    {
        float y = float.NaN;
        byte dummy = 0;
        Assert.False(GemvKQuants.TryMatVec(GgmlType.Q8_0, &dummy, 34, 0, 1, &dummy, 32, &y));
        Assert.False(GemvKQuants.TryMatVec(GgmlType.Q4_0, &dummy, 18, 0, 1, &dummy, 32, &y));
        Assert.False(GemvKQuants.TryMatVec(GgmlType.F32, &dummy, 4, 0, 1, &dummy, 1, &y));
        Assert.True(float.IsNaN(y));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void WeightMatrixSingleRowEqualsRowDotsAndTheBatch(GgmlType type)
    {
        // one activation row goes through the gemv kernel, two or more through the tiles: both must equal the row dot
        const int rows = 22, batch = 3, n = 1536;
        var rng = new Random(17 + (int)type);
        var w = KQuantData.RandomWeights(type, rows, n, rng);
        var x = QuantTestData.RandomFloats(rng, n * batch, 2f);
        fixed (byte* pw = w)
        {
            var m = new WeightMatrix(type, pw, n, rows);
            int arb = (int)m.ActivationRowBytes;
            var qx = new byte[batch * arb];
            m.ConvertActivations(x, batch, qx);
            var all = new float[batch * rows];
            m.MatMul(qx, batch, all, 0, rows);
            var one = new float[rows];
            fixed (byte* pa = qx)
                for (int b = 0; b < batch; b++)
                {
                    m.MatMul(qx.AsSpan(b * arb, arb), 1, one, 0, rows, batchOrder: false);
                    for (int r = 0; r < rows; r++)
                    {
                        int e = BitConverter.SingleToInt32Bits(RowDot(type, pw + r * m.RowBytes, pa + b * arb, n));
                        Assert.Equal(e, BitConverter.SingleToInt32Bits(one[r]));
                        Assert.Equal(e, BitConverter.SingleToInt32Bits(all[b * rows + r]));
                    }
                }
        }
    }

    /// <summary>Without AVX2 + FMA the kernel declines and WeightMatrix runs the row dots.</summary>
    private static void RefusedWithoutAvx2(GgmlType type)
    {
        float y = float.NaN;
        byte dummy = 0;
        Assert.False(GemvKQuants.TryMatVec(type, &dummy, 1, 0, 1, &dummy, 256, &y));
        Assert.True(float.IsNaN(y));
    }

    private static void Check(GgmlType type, int n, int r0, int r1, Random rng)
    {
        long rb = GgmlTypeTraits.RowBytes(type, n);
        var w = KQuantData.RandomWeights(type, r1, n, rng);
        var a = KQuantData.RandomActivations(1, n, rng);
        var y = new float[r1];
        fixed (byte* pw = w)
        fixed (byte* pa = a)
        fixed (float* py = y)
        {
            Assert.True(GemvKQuants.TryMatVec(type, pw, rb, r0, r1, pa, n, py));
            for (int r = r0; r < r1; r++)
            {
                float e = RowDot(type, pw + r * rb, pa, n);
                if (BitConverter.SingleToInt32Bits(e) != BitConverter.SingleToInt32Bits(y[r]))
                    Assert.Fail($"{type} n={n} rows [{r0}, {r1}): y[{r}] = {y[r]:R}, row dot {e:R}");
            }
        }
    }
}
