using Whale.Kernels;
using Whale.Kernels.Quant;

namespace Whale.Tests.Kernels.Quant;

/// <summary>Checks every repacked type must pass (Q8_0RepackedTests, KQuantRepackedTests), whatever its layout.</summary>
internal static unsafe class RepackedChecks
{
    /// <summary>A repacked type's factory (<c>Q8_0Repacked.Create</c>, <c>Q4_KRepacked.Create</c>, ...).</summary>
    public delegate RepackedMatrix? Factory(byte* data, long rowBytes, int rows, int cols);

    /// <summary>
    /// <paramref name="create"/> refuses, with the argument exception a caller can act on, columns that are not whole
    /// blocks of <paramref name="blockValues"/>, a row size that is not the type's <paramref name="rowBytes"/> for one
    /// block, zero rows and a null source.
    /// </summary>
    public static void AssertRejectsBadShapes(Factory create, int rowBytes, int blockValues)
    {
        var w = new byte[rowBytes * 2 * 8];
        fixed (byte* pw = w)
        {
            nint p = (nint)pw;
            Assert.Throws<ArgumentException>(() => create((byte*)p, rowBytes, 8, blockValues * 3 / 2));
            Assert.Throws<ArgumentException>(() => create((byte*)p, rowBytes - 6, 8, blockValues));
            Assert.Throws<ArgumentOutOfRangeException>(() => create((byte*)p, rowBytes, 0, blockValues));
            Assert.Throws<ArgumentNullException>(() => create(null, rowBytes, 8, blockValues));
        }
    }

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

    /// <summary>
    /// y over [r0, r1) from the repacked matrix equals <paramref name="rowLane"/>(weight row, activation row) per output
    /// bit for bit; the same matrix read in place equals <paramref name="ggml"/> (llama.cpp's row dot) bit for bit; the two
    /// differ by no more than <paramref name="bound"/> (+∞: not compared); rows outside the range are untouched.
    /// </summary>
    public static unsafe void AssertProducts(WeightMatrix packed, WeightMatrix inPlace, byte[] a, int batch, int r0, int r1,
        Func<nint, nint, float> rowLane, Func<nint, nint, float> ggml, Func<nint, nint, double> bound)
    {
        int rows = packed.Rows, n = packed.Cols;
        long rb = packed.RowBytes, arb = packed.ActivationRowBytes;
        var y = new float[batch * rows];
        var y2 = new float[batch * rows];
        Array.Fill(y, float.NaN);
        Array.Fill(y2, float.NaN);
        packed.MatMul(a, batch, y, r0, r1);
        inPlace.MatMul(a, batch, y2, r0, r1);
        fixed (byte* pa = a)
            for (int b = 0; b < batch; b++)
                for (int r = 0; r < rows; r++)
                {
                    int i = b * rows + r;
                    if (r < r0 || r >= r1)
                    {
                        Assert.True(float.IsNaN(y[i]), $"row {r} outside [{r0}, {r1}) was written");
                        continue;
                    }
                    nint wr = (nint)(inPlace.Data + r * rb), ar = (nint)(pa + b * arb);
                    float expected = rowLane(wr, ar);
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(y[i]), $"{packed.Type} repacked n={n} rows={rows} batch={batch} r={r} b={b}: {y[i]:R} vs {expected:R}");
                    float reference = ggml(wr, ar);
                    Assert.True(BitConverter.SingleToInt32Bits(reference) == BitConverter.SingleToInt32Bits(y2[i]), $"{packed.Type} in place n={n} rows={rows} batch={batch} r={r} b={b}: {y2[i]:R} vs {reference:R}");
                    double d = bound(wr, ar);
                    Assert.True(double.IsPositiveInfinity(d) || Math.Abs((double)y[i] - y2[i]) <= d, $"{packed.Type} n={n} r={r} b={b}: repacked {y[i]:R} vs in place {y2[i]:R} (bound {d:E2})");
                }
    }

    /// <summary>
    /// The repacked matrix <paramref name="m"/> holds <paramref name="expectedBytes"/> of copy and computes
    /// <paramref name="rowLane"/>'s bits; after Dispose the copy is gone and the same matrix reads its rows in place again
    /// (<paramref name="ggml"/>'s bits, llama.cpp's order); a second Dispose is harmless.
    /// </summary>
    public static unsafe void DisposeFallsBackToTheRows(WeightMatrix m, byte[] a, int batch, long expectedBytes,
        Func<nint, nint, float> rowLane, Func<nint, nint, float> ggml)
    {
        int rows = m.Rows;
        Assert.True(m.IsRepacked);
        Assert.Equal(expectedBytes, m.RepackedBytes);
        var y = new float[batch * rows];
        m.MatMul(a, batch, y, 0, rows);
        m.Dispose();
        Assert.False(m.IsRepacked);
        Assert.Equal(0, m.RepackedBytes);
        var y2 = new float[batch * rows];
        m.MatMul(a, batch, y2, 0, rows);
        fixed (byte* pa = a)
            for (int b = 0; b < batch; b++)
                for (int r = 0; r < rows; r++)
                {
                    nint wr = (nint)(m.Data + r * m.RowBytes), ar = (nint)(pa + b * m.ActivationRowBytes);
                    Assert.Equal(rowLane(wr, ar), y[b * rows + r]);
                    Assert.Equal(ggml(wr, ar), y2[b * rows + r]);
                }
        m.Dispose();
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
