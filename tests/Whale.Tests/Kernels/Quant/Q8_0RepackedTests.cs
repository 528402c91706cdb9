using Whale.Gguf;
using Whale.Kernels;
using Whale.Kernels.Quant;

namespace Whale.Tests.Kernels.Quant;

/// <summary>
/// Q8_0 weights repacked at load (<see cref="Q8_0Repacked"/>, <see cref="WeightMatrix.Repack"/>, products by
/// <see cref="TileQ8_0Repacked"/>) against their scalar order <see cref="ReferenceDot.Q8_0Q8_0RowLane"/> bit for bit, and
/// against the rows read in place (llama.cpp's order, <see cref="VecDot.Q8_0Q8_0"/>) within float rounding: row counts
/// with and without a partial last group, every batch shape of the tiles, row ranges cutting groups, −128 activation
/// quants, thread splits, row lookups and disposal.
/// </summary>
public unsafe class Q8_0RepackedTests
{
    /// <summary>Random Q8_0 rows: F16 scales normal and subnormal of both signs, quants over the whole byte range.</summary>
    private static byte[] RandomRows(Random rng, int rows, int n, bool allowMin)
    {
        int nb = n / 32;
        var data = new byte[rows * nb * 34];
        rng.NextBytes(data);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < nb; i++)
            {
                int o = (r * nb + i) * 34;
                int e = rng.Next(8) == 0 ? 0 : rng.Next(1, 30);
                ushort h = (ushort)((rng.Next(2) << 15) | (e << 10) | rng.Next(1024));
                data[o] = (byte)h;
                data[o + 1] = (byte)(h >> 8);
                for (int j = 0; j < 32; j++)
                {
                    if (!allowMin && data[o + 2 + j] == 0x80) data[o + 2 + j] = 0x81;
                    if (rng.Next(16) == 0) data[o + 2 + j] = (byte)(rng.Next(2) == 0 ? 0x7F : (allowMin ? 0x80 : 0x81));
                }
            }
        return data;
    }

    /// <summary>
    /// y over [r0, r1) from the repacked matrix equals <see cref="ReferenceDot.Q8_0Q8_0RowLane"/> per output bit for bit;
    /// the same matrix read in place equals <see cref="VecDot.Q8_0Q8_0"/> bit for bit; the two differ by no more than
    /// float rounding ((nb + 4)·2⁻²³ of the sum of the absolute products); rows outside the range are untouched.
    /// </summary>
    private static void AssertSame(WeightMatrix packed, WeightMatrix inPlace, byte[] a, int batch, int r0, int r1)
    {
        int n = packed.Cols;
        RepackedChecks.AssertProducts(packed, inPlace, a, batch, r0, r1,
            (w, x) => ReferenceDot.Q8_0Q8_0RowLane((BlockQ8_0*)w, (BlockQ8_0*)x, n),
            (w, x) => VecDot.Q8_0Q8_0((BlockQ8_0*)w, (BlockQ8_0*)x, n),
            // ggml's sign trick wraps on −128 activation quants; the repacked sum does not: not compared there
            (w, x) => HasMin((BlockQ8_0*)x, n) ? double.PositiveInfinity : (n / 32 + 4) * Math.Pow(2, -23) * AbsTerms((BlockQ8_0*)w, (BlockQ8_0*)x, n) + 1e-37);
    }

    /// <summary>Σ |w·a| · |dw·da| over all products: the scale of the rounding differences between two summation orders.</summary>
    private static double AbsTerms(BlockQ8_0* w, BlockQ8_0* a, int n)
    {
        double s = 0;
        for (int i = 0; i < n / 32; i++, w++, a++)
        {
            int sumi = 0;
            for (int j = 0; j < 32; j++) sumi += Math.Abs(w->Qs[j] * a->Qs[j]);
            s += sumi * Math.Abs((double)Fp16.ToFloat(w->D) * Fp16.ToFloat(a->D));
        }
        return s;
    }

    private static bool HasMin(BlockQ8_0* a, int n)
    {
        for (int i = 0; i < n / 32; i++, a++)
            for (int j = 0; j < 32; j++)
                if (a->Qs[j] == -128) return true;
        return false;
    }

    [Theory]
    [InlineData(32, 40)]
    [InlineData(64, 40)]
    [InlineData(96, 24)]
    [InlineData(1536, 20)]
    [InlineData(4096, 9)]
    public void RepackedEqualsInPlaceAndVecDot(int n, int maxBatch)
    {
        if (!TileQ8_0Repacked.IsSupported) return;   // no repacking on this machine (CanRepack is false; tested below)
        var rng = new Random(n);
        for (int rows = 1; rows <= 33; rows++)
        {
            if (n >= 1536 && rows % 4 != 1 && rows != 8 && rows != 16) continue;   // wide rows: 1, 5, 8, 9, 13, 16, 17, ...
            var w = RandomRows(rng, rows, n, allowMin: true);
            fixed (byte* pw = w)
            {
                using var packed = new WeightMatrix(GgmlType.Q8_0, pw, n, rows);
                var inPlace = new WeightMatrix(GgmlType.Q8_0, pw, n, rows);
                Assert.True(packed.Repack());
                Assert.True(packed.IsRepacked);
                Assert.False(inPlace.IsRepacked);
                for (int batch = 1; batch <= maxBatch; batch++)
                {
                    var a = RandomRows(rng, batch, n, allowMin: false);
                    AssertSame(packed, inPlace, a, batch, 0, rows);
                }
            }
        }
    }

    [Fact]
    public void ChunkedActivationsOfWideRowsStayExact()
    {
        // n = 8192 prepares 17 KB of activations per row: a 1.5 MB chunk holds 88 rows, so 200 rows take three chunks
        if (!TileQ8_0Repacked.IsSupported) return;
        var rng = new Random(3);
        const int n = 8192, rows = 11, batch = 200;
        var w = RandomRows(rng, rows, n, allowMin: true);
        var a = RandomRows(rng, batch, n, allowMin: false);
        fixed (byte* pw = w)
        {
            using var packed = new WeightMatrix(GgmlType.Q8_0, pw, n, rows);
            Assert.True(packed.Repack());
            AssertSame(packed, new WeightMatrix(GgmlType.Q8_0, pw, n, rows), a, batch, 0, rows);
        }
    }

    [Fact]
    public void RowRangesCuttingGroupsWriteOnlyTheirRows()
    {
        if (!TileQ8_0Repacked.IsSupported) return;
        var rng = new Random(7);
        const int n = 256, rows = 37;
        var w = RandomRows(rng, rows, n, allowMin: true);
        fixed (byte* pw = w)
        {
            using var packed = new WeightMatrix(GgmlType.Q8_0, pw, n, rows);
            Assert.True(packed.Repack());
            var inPlace = new WeightMatrix(GgmlType.Q8_0, pw, n, rows);
            foreach (int batch in new[] { 1, 3, 6, 17 })
            {
                var a = RandomRows(rng, batch, n, allowMin: false);
                foreach (var (r0, r1) in new[] { (0, 37), (1, 37), (3, 20), (5, 13), (8, 16), (8, 37), (36, 37), (32, 37), (10, 10) })
                    AssertSame(packed, inPlace, a, batch, r0, r1);
            }
        }
    }

    [Fact]
    public void ActivationQuantMinus128IsSummedExactly()
    {
        if (!TileQ8_0Repacked.IsSupported) return;
        var rng = new Random(5);
        const int n = 128, rows = 13;
        var w = RandomRows(rng, rows, n, allowMin: true);
        foreach (int batch in new[] { 1, 5, 16 })
        {
            var a = RandomRows(rng, batch, n, allowMin: true);
            a[(batch - 1) * (n / 32 * 34) + 2 + 34] = 0x80;   // one −128 quant in the last row's second block
            fixed (byte* pw = w)
            {
                using var packed = new WeightMatrix(GgmlType.Q8_0, pw, n, rows);
                Assert.True(packed.Repack());
                AssertSame(packed, new WeightMatrix(GgmlType.Q8_0, pw, n, rows), a, batch, 0, rows);
            }
        }
    }

    [Fact]
    public void PoolProductsSplitOnGroupsAndMatchOneThread()
    {
        if (!TileQ8_0Repacked.IsSupported) return;
        var rng = new Random(9);
        const int n = 512, rows = 45;
        var w = RandomRows(rng, rows, n, allowMin: true);
        using var pool = new WorkerPool(3);
        fixed (byte* pw = w)
        {
            using var packed = new WeightMatrix(GgmlType.Q8_0, pw, n, rows);
            var inPlace = new WeightMatrix(GgmlType.Q8_0, pw, n, rows);
            Assert.True(packed.Repack());
            Assert.Equal(Q8_0Repacked.GroupRows, packed.RowAlignment);
            foreach (int batch in new[] { 1, 2, 7, 20 })
                AssertSame(packed, inPlace, RepackedChecks.PoolSplitEqualsOneCall(packed, pool, rng, batch), batch, 0, rows);
        }
    }

    [Fact]
    public void DequantizedRowsEqualTheSourceRows()
    {
        if (!TileQ8_0Repacked.IsSupported) return;
        var rng = new Random(4);
        const int n = 160, rows = 19;
        var w = RandomRows(rng, rows, n, allowMin: true);
        fixed (byte* pw = w)
        {
            using var packed = new WeightMatrix(GgmlType.Q8_0, pw, n, rows);
            var inPlace = new WeightMatrix(GgmlType.Q8_0, pw, n, rows);
            Assert.True(packed.Repack());
            RepackedChecks.RowsDequantizeAsInPlace(packed, inPlace);
        }
    }

    [Fact]
    public void RepackedCopyNeverReadsTheSourceAgain()
    {
        if (!TileQ8_0Repacked.IsSupported) return;
        var rng = new Random(6);
        const int n = 96, rows = 10, batch = 5;
        var w = RandomRows(rng, rows, n, allowMin: true);
        var copy = (byte[])w.Clone();
        var a = RandomRows(rng, batch, n, allowMin: false);
        var expected = new float[batch * rows];
        var got = new float[batch * rows];
        var row = new float[n];
        var expectedRow = new float[n];
        fixed (byte* pc = copy)
        {
            using var other = new WeightMatrix(GgmlType.Q8_0, pc, n, rows);
            Assert.True(other.Repack());
            other.MatMul(a, batch, expected, 0, rows);
        }
        fixed (byte* pw = w)
        {
            using var packed = new WeightMatrix(GgmlType.Q8_0, pw, n, rows);
            Assert.True(packed.Repack());
            fixed (byte* pc = copy) new WeightMatrix(GgmlType.Q8_0, pc, n, rows).DequantizeRow(3, expectedRow);
            Array.Clear(w);    // the source pages may be released after repacking: nothing may depend on them
            packed.MatMul(a, batch, got, 0, rows);
            packed.DequantizeRow(3, row);
        }
        Assert.Equal(expected, got);
        Assert.Equal(expectedRow, row);
    }

    [Fact]
    public void DisposeFreesTheCopyAndFallsBackToTheRows()
    {
        if (!TileQ8_0Repacked.IsSupported) return;
        var rng = new Random(8);
        const int n = 64, rows = 12, batch = 3;
        var w = RandomRows(rng, rows, n, allowMin: true);
        var a = RandomRows(rng, batch, n, allowMin: false);
        fixed (byte* pw = w)
        {
            var m = new WeightMatrix(GgmlType.Q8_0, pw, n, rows);
            Assert.True(m.Repack());
            // 2 groups of 8 rows x 2 blocks x (32 quants + 2 scale bytes) = 544 B each, rounded up to 576 (64-byte multiple)
            RepackedChecks.DisposeFallsBackToTheRows(m, a, batch, 2 * 576,
                (wr, ar) => ReferenceDot.Q8_0Q8_0RowLane((BlockQ8_0*)wr, (BlockQ8_0*)ar, n), (wr, ar) => VecDot.Q8_0Q8_0((BlockQ8_0*)wr, (BlockQ8_0*)ar, n));
        }

        fixed (byte* pw = w)
        {
            var raw = Q8_0Repacked.Create(pw, n / 32 * 34, rows, n);
            Assert.NotNull(raw);
            Assert.True(raw.Base != null);
            raw.Dispose();
            Assert.Throws<ObjectDisposedException>(() => (nint)raw.Base);
            raw.Dispose();
        }
    }

    [Fact]
    public void OnlyQ8_0MatricesAreRepacked()
    {
        var w = new byte[GgmlTypeTraits.RowBytes(GgmlType.Q4_0, 64) * 8];
        fixed (byte* pw = w)
        {
            using var q4 = new WeightMatrix(GgmlType.Q4_0, pw, 64, 8);
            Assert.False(q4.CanRepack);
            Assert.False(q4.Repack());
            Assert.False(q4.IsRepacked);
        }
        var w8 = new byte[GgmlTypeTraits.RowBytes(GgmlType.Q8_0, 64) * 8];
        fixed (byte* pw = w8)
        {
            using var q8 = new WeightMatrix(GgmlType.Q8_0, pw, 64, 8);
            Assert.Equal(TileQ8_0Repacked.IsSupported, q8.CanRepack);
            Assert.Equal(TileQ8_0Repacked.IsSupported, q8.Repack());
        }
    }

    [Theory]
    [InlineData((ushort)0x7C00)]   // +inf
    [InlineData((ushort)0xFC00)]   // -inf
    [InlineData((ushort)0x7E00)]   // NaN
    public void MatricesWithANonFiniteScaleStayInPlace(ushort scale)
    {
        if (!TileQ8_0Repacked.IsSupported) return;
        var rng = new Random(11);
        const int n = 96, rows = 9, batch = 3;
        var w = RandomRows(rng, rows, n, allowMin: true);
        int at = (5 * (n / 32) + 2) * 34;   // row 5, block 2
        w[at] = (byte)scale;
        w[at + 1] = (byte)(scale >> 8);
        var a = RandomRows(rng, batch, n, allowMin: false);
        fixed (byte* pw = w)
        {
            Assert.Null(Q8_0Repacked.Create(pw, n / 32 * 34, rows, n));
            using var m = new WeightMatrix(GgmlType.Q8_0, pw, n, rows);
            Assert.True(m.CanRepack);
            Assert.False(m.Repack());
            Assert.False(m.IsRepacked);
            var y = new float[batch * rows];
            m.MatMul(a, batch, y, 0, rows);
            fixed (byte* pa = a)
                for (int b = 0; b < batch; b++)
                    for (int r = 0; r < rows; r++)
                    {
                        float expected = VecDot.Q8_0Q8_0((BlockQ8_0*)(pw + r * m.RowBytes), (BlockQ8_0*)(pa + b * m.RowBytes), n);
                        Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(y[b * rows + r]));
                    }
        }
    }

    [Fact]
    public void CreateRejectsBadShapes() => RepackedChecks.AssertRejectsBadShapes(Q8_0Repacked.Create, 34, 32);
}
