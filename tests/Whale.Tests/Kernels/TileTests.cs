using Whale.Gguf;
using Whale.Kernels;
using Whale.Kernels.Quant;
using Whale.Tests.Kernels.Quant;

namespace Whale.Tests.Kernels;

/// <summary>Tiled matrix kernels against the one-row dot products they must equal bit for bit.</summary>
public unsafe class TileTests
{
    [Theory]
    [InlineData(32, 1, 1)]
    [InlineData(64, 4, 4)]
    [InlineData(256, 9, 7)]
    [InlineData(1536, 13, 5)]
    [InlineData(96, 3, 9)]
    public void TileQ8_0MatchesVecDot(int cols, int rows, int batch)
    {
        var rng = new Random(cols + rows * 7 + batch);
        long rb = GgmlTypeTraits.RowBytes(GgmlType.Q8_0, cols);
        var w = new byte[rb * rows];
        for (int r = 0; r < rows; r++)
        {
            var row = QuantTestData.RandomFloats(rng, cols, 0.5f);
            if (r == 1) row.AsSpan().Fill(-3f);                     // all -127 after quantization
            Quantizer.QuantizeRow(GgmlType.Q8_0, row, w.AsSpan((int)(r * rb), (int)rb));
        }
        var x = QuantTestData.RandomFloats(rng, cols * batch, 2f);
        if (batch > 1) x.AsSpan(cols, cols).Fill(5f);
        fixed (byte* pw = w)
        {
            var m = new WeightMatrix(GgmlType.Q8_0, pw, cols, rows);
            var qx = new byte[batch * m.ActivationRowBytes];
            m.ConvertActivations(x, batch, qx);
            var y = new float[batch * rows];
            m.MatMul(qx, batch, y, 0, rows);
            fixed (byte* pa = qx)
                for (int b = 0; b < batch; b++)
                    for (int r = 0; r < rows; r++)
                    {
                        float expected = VecDot.Q8_0Q8_0((BlockQ8_0*)(pw + r * rb), (BlockQ8_0*)(pa + b * m.ActivationRowBytes), cols);
                        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(y[b * rows + r]),
                            $"r={r} b={b}: {y[b * rows + r]} vs {expected}");
                    }
            // a row range that is not a multiple of the tile
            var y2 = new float[batch * rows];
            m.MatMul(qx, batch, y2, 1, rows);
            for (int b = 0; b < batch; b++)
                for (int r = 1; r < rows; r++) Assert.Equal(y[b * rows + r], y2[b * rows + r]);
        }
    }
}
