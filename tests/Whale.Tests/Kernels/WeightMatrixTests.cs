using Whale.Gguf;
using Whale.Kernels;
using Whale.Tests.Kernels.Quant;

namespace Whale.Tests.Kernels;

public unsafe class WeightMatrixTests
{
    public static TheoryData<GgmlType> Types() => QuantTestData.WeightTypeData();

    private static double Tolerance(GgmlType t) => t switch
    {
        GgmlType.F32 => 1e-5,
        GgmlType.F16 => 2e-3,
        GgmlType.BF16 => 1e-2,
        _ => 2.5e-2,
    };

    [Theory]
    [MemberData(nameof(Types))]
    public void MatMulMatchesFloatReference(GgmlType type)
    {
        const int cols = 512, rows = 37, batch = 3;
        var rng = new Random(11 + (int)type);
        long rb = GgmlTypeTraits.RowBytes(type, cols);
        var w = new byte[rb * rows];
        var wf = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            var row = QuantTestData.RandomFloats(rng, cols, 0.1f);
            Whale.Kernels.Quant.Quantizer.QuantizeRow(type, row, w.AsSpan((int)(r * rb), (int)rb));
            Whale.Kernels.Quant.Quantizer.DequantizeRow(type, w.AsSpan((int)(r * rb), (int)rb), wf.AsSpan(r * cols, cols));
        }
        var x = QuantTestData.RandomFloats(rng, cols * batch, 1f);
        var y = new float[batch * rows];
        var y2 = new float[batch * rows];
        fixed (byte* pw = w)
        {
            var m = new WeightMatrix(type, pw, cols, rows);
            Assert.Equal(rb, m.RowBytes);
            var qx = new byte[m.ActivationRowBytes * batch];
            m.ConvertActivations(x, batch, qx);
            m.MatMul(qx, batch, y, 0, 20);
            m.MatMul(qx, batch, y, 20, rows);

            using var pool = new WorkerPool(2);
            m.MatMul(pool, x, batch, y2, new byte[qx.Length]);

            var deq = new float[cols];
            m.DequantizeRow(5, deq);
            Assert.Equal(wf.AsSpan(5 * cols, cols).ToArray(), deq);
        }
        Assert.Equal(y, y2);
        for (int b = 0; b < batch; b++)
        {
            double norm = 0;
            for (int r = 0; r < rows; r++)
            {
                double e = 0;
                for (int c = 0; c < cols; c++) e += (double)wf[r * cols + c] * x[b * cols + c];
                norm = Math.Max(norm, Math.Abs(e));
            }
            for (int r = 0; r < rows; r++)
            {
                double e = 0;
                for (int c = 0; c < cols; c++) e += (double)wf[r * cols + c] * x[b * cols + c];
                Assert.True(Math.Abs(y[b * rows + r] - e) <= Tolerance(type) * norm,
                    $"{type} b={b} r={r}: {y[b * rows + r]} vs {e} (scale {norm})");
            }
        }
    }

    [Theory]
    [InlineData(GgmlType.Q8_0, 1)]
    [InlineData(GgmlType.Q8_0, 5)]
    [InlineData(GgmlType.Q8_0, 19)]
    [InlineData(GgmlType.Q4_K, 3)]
    [InlineData(GgmlType.F16, 2)]
    public void PoolMatMulEqualsSerialAndAllocatesNothing(GgmlType type, int batch)
    {
        const int cols = 768, rows = 100;        // 100 rows over 3 workers: ranges end inside a tile
        var rng = new Random(23 + batch);
        long rb = GgmlTypeTraits.RowBytes(type, cols);
        var w = new byte[rb * rows];
        for (int r = 0; r < rows; r++)
            Whale.Kernels.Quant.Quantizer.QuantizeRow(type, QuantTestData.RandomFloats(rng, cols, 0.2f), w.AsSpan((int)(r * rb), (int)rb));
        var x = QuantTestData.RandomFloats(rng, cols * batch, 1f);
        var y = new float[batch * rows];
        var y2 = new float[batch * rows];
        fixed (byte* pw = w)
        {
            var m = new WeightMatrix(type, pw, cols, rows);
            var qx = new byte[m.ActivationRowBytes * batch];
            m.ConvertActivations(x, batch, qx);
            m.MatMul(qx, batch, y, 0, rows);
            using var pool = new WorkerPool(3);
            var scratch = new byte[qx.Length];
            m.MatMul(pool, x, batch, y2, scratch);                  // warm-up: JIT, per-thread kernel scratch
            Assert.Equal(y, y2);
            Array.Clear(y2);
            // a closure per call would show in every round; the runtime's own one-off allocations (tiering) in one at most
            long fewest = long.MaxValue;
            for (int round = 0; round < 5; round++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 20; i++) m.MatMul(pool, x, batch, y2, scratch);
                fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            Assert.Equal(0, fewest);
            Assert.Equal(y, y2);
        }
    }

    [Fact]
    public void RowAlignmentKeepsQ8_0TilesWhole()
    {
        var q8 = new WeightMatrix(GgmlType.Q8_0, null, 256, 64);
        Assert.Equal(Whale.Kernels.Quant.TileQ8_0Avx512.IsSupported ? 8 : 4, q8.RowAlignment);
        Assert.Equal(4, new WeightMatrix(GgmlType.Q6_K, null, 256, 64).RowAlignment);
    }

    [Fact]
    public void PoolMatMulRejectsShortBuffers()
    {
        var m = new WeightMatrix(GgmlType.Q8_0, null, 64, 8);
        using var pool = new WorkerPool(2);
        Assert.Throws<ArgumentException>(() => m.MatMul(pool, new float[64], 2, new float[16], new byte[2 * 68]));
        Assert.Throws<ArgumentException>(() => m.MatMul(pool, new float[128], 2, new float[15], new byte[2 * 68]));
        Assert.Throws<ArgumentException>(() => m.MatMul(pool, new float[128], 2, new float[16], new byte[2 * 68 - 1]));
    }

    [Fact]
    public void ActivationTypesFollowLlamaCpp()
    {
        GgmlType Act(GgmlType t) => new WeightMatrix(t, null, 256, 1).ActivationType;
        Assert.Equal(GgmlType.F32, Act(GgmlType.F32));
        Assert.Equal(GgmlType.F16, Act(GgmlType.F16));
        Assert.Equal(GgmlType.BF16, Act(GgmlType.BF16));
        Assert.Equal(GgmlType.Q8_0, Act(GgmlType.Q4_0));
        Assert.Equal(GgmlType.Q8_0, Act(GgmlType.Q5_0));
        Assert.Equal(GgmlType.Q8_0, Act(GgmlType.Q8_0));
        Assert.Equal(GgmlType.Q8_1, Act(GgmlType.Q4_1));
        Assert.Equal(GgmlType.Q8_1, Act(GgmlType.Q5_1));
        Assert.Equal(GgmlType.Q8_K, Act(GgmlType.Q4_K));
        Assert.Equal(GgmlType.Q8_K, Act(GgmlType.Q5_K));
        Assert.Equal(GgmlType.Q8_K, Act(GgmlType.Q6_K));
        Assert.Equal(292L, new WeightMatrix(GgmlType.Q4_K, null, 256, 1).ActivationRowBytes);
        Assert.Equal(2 * 34L, new WeightMatrix(GgmlType.Q4_0, null, 64, 1).ActivationRowBytes);
    }
}
