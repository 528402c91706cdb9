using Whale.Kernels;

namespace Whale.Tests.Kernels.Quant;

/// <summary>Checks every repacked type must pass (Q8_0RepackedTests, KQuantRepackedTests), whatever its layout.</summary>
internal static class RepackedChecks
{
    /// <summary>
    /// The pool product (rows split across workers on RowAlignment) equals one call over all rows on this thread, bit
    /// for bit, for random activations of <paramref name="batch"/> rows; returns the converted activations.
    /// </summary>
    public static byte[] PoolSplitEqualsOneCall(WeightMatrix packed, WorkerPool pool, Random rng, int batch)
    {
        int n = packed.Cols, rows = packed.Rows;
        var x = new float[batch * n];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        var y = new float[batch * rows];
        var y2 = new float[batch * rows];
        var qx = new byte[packed.ActivationRowBytes * batch];
        packed.MatMul(pool, x, batch, y, qx);
        packed.MatMul(qx, batch, y2, 0, rows);   // one call over all rows, on this thread
        Assert.Equal(y2.Select(BitConverter.SingleToInt32Bits), y.Select(BitConverter.SingleToInt32Bits));
        return qx;
    }

    /// <summary>Every row dequantized from the repacked copy equals the same row dequantized in place, bit for bit.</summary>
    public static void RowsDequantizeAsInPlace(WeightMatrix packed, WeightMatrix inPlace)
    {
        var got = new float[packed.Cols];
        var expected = new float[packed.Cols];
        for (int r = 0; r < packed.Rows; r++)
        {
            packed.DequantizeRow(r, got);
            inPlace.DequantizeRow(r, expected);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), got.Select(BitConverter.SingleToInt32Bits));
        }
    }
}
