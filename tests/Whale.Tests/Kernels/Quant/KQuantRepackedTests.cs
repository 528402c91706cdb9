using Whale.Gguf;
using Whale.Kernels;
using Whale.Kernels.Quant;

namespace Whale.Tests.Kernels.Quant;

/// <summary>
/// K-quant weights repacked at load (<see cref="Q4_KRepacked"/>, <see cref="Q5_KRepacked"/>, <see cref="Q6_KRepacked"/>;
/// <see cref="WeightMatrix.Repack"/>, products by <see cref="TileQ4_KRepacked"/> / <see cref="TileQ5_KRepacked"/> /
/// <see cref="TileQ6_KRepacked"/>) against their scalar order (<see cref="ReferenceDot.Q4_KQ8_KRowLane"/>,
/// <see cref="ReferenceDot.Q5_KQ8_KRowLane"/>, <see cref="ReferenceDot.Q6_KQ8_KRowLane"/>)
/// bit for bit, and against the rows read in place (llama.cpp's order, <see cref="VecDot"/>) within float rounding:
/// row counts with and without a partial last group, every batch shape of the tiles, a batch wider than one chunk,
/// row ranges cutting groups, thread splits, row lookups, disposal, and a source that is never read again.
/// </summary>
public unsafe class KQuantRepackedTests
{
    private static bool Supported(GgmlType t) => t switch
    {
        GgmlType.Q4_K => TileQ4_KRepacked.IsSupported,
        GgmlType.Q5_K => TileQ5_KRepacked.IsSupported,
        _ => TileQ6_KRepacked.IsSupported,
    };

    private static float RowLane(GgmlType t, byte* w, byte* a, int n) => t switch
    {
        GgmlType.Q4_K => ReferenceDot.Q4_KQ8_KRowLane((BlockQ4_K*)w, (BlockQ8_K*)a, n),
        GgmlType.Q5_K => ReferenceDot.Q5_KQ8_KRowLane((BlockQ5_K*)w, (BlockQ8_K*)a, n),
        _ => ReferenceDot.Q6_KQ8_KRowLane((BlockQ6_K*)w, (BlockQ8_K*)a, n),
    };

    private static float Ggml(GgmlType t, byte* w, byte* a, int n) => t switch
    {
        GgmlType.Q4_K => VecDot.Q4_KQ8_K((BlockQ4_K*)w, (BlockQ8_K*)a, n),
        GgmlType.Q5_K => VecDot.Q5_KQ8_K((BlockQ5_K*)w, (BlockQ8_K*)a, n),
        _ => VecDot.Q6_KQ8_K((BlockQ6_K*)w, (BlockQ8_K*)a, n),
    };

    /// <summary>Quant j·32 + l (0..31) of a Q4_K or Q5_K block and its 6-bit scale/min (j = sub-block).</summary>
    private static int KQuant(GgmlType t, byte* x, int j, int l, out int sc, out int m)
    {
        byte* scales = x + 4;
        Quantizer.ScaleMinK4(j, scales, out sc, out m);
        byte* qs = x + (t == GgmlType.Q5_K ? 48 : 16);
        byte b = qs[32 * (j / 2) + l];
        int q = j % 2 == 0 ? b & 0xF : b >> 4;
        return t == GgmlType.Q5_K ? q | (((x[16 + l] >> j) & 1) << 4) : q;
    }

    /// <summary>
    /// Σ over super-blocks of |a.d| · (Σ_j |d·sc_j| · Σ |q·a| + |dmin| · Σ_j |m_j · s_j|): the scale of the rounding
    /// differences between two summation orders of the same exact integer parts.
    /// </summary>
    private static double AbsTerms(GgmlType t, byte* w, byte* a, int n)
    {
        double s = 0;
        var y = (BlockQ8_K*)a;
        if (t is GgmlType.Q4_K or GgmlType.Q5_K)
        {
            int bb = GgmlTypeTraits.BlockBytes(t);
            byte* x = w;
            for (int i = 0; i < n / 256; i++, x += bb, y++)
            {
                double blk = 0;
                for (int j = 0; j < 8; j++)
                {
                    long p = 0;
                    int sc = 0, m = 0;
                    for (int l = 0; l < 32; l++) p += Math.Abs(KQuant(t, x, j, l, out sc, out m) * y->Qs[32 * j + l]);
                    blk += p * Math.Abs((double)Fp16.ToFloat(*(ushort*)x) * sc);
                    blk += Math.Abs((double)Fp16.ToFloat(*(ushort*)(x + 2)) * m * (short)(y->BSums[2 * j] + y->BSums[2 * j + 1]));
                }
                s += blk * Math.Abs((double)y->D);
            }
            return s;
        }
        var x6 = (BlockQ6_K*)w;
        for (int i = 0; i < n / 256; i++, x6++, y++)
        {
            double blk = 0;
            for (int j = 0; j < 16; j++)
            {
                long p = 0;
                for (int l = 0; l < 16; l++) p += Math.Abs((ReferenceDot.Q6Value(x6, 16 * j + l) - 32) * y->Qs[16 * j + l]);
                blk += p * Math.Abs((double)Fp16.ToFloat(x6->D) * x6->Scales[j]);
            }
            s += blk * Math.Abs((double)y->D);
        }
        return s;
    }

    /// <summary>
    /// y over [r0, r1) from the repacked matrix equals the row-lane reference per output bit for bit; the same matrix
    /// read in place equals llama.cpp's row dot bit for bit; the two differ by no more than float rounding
    /// ((2·nb + 16)·2⁻²³ of <see cref="AbsTerms"/>); rows outside the range are untouched.
    /// </summary>
    private static void AssertSame(WeightMatrix packed, WeightMatrix inPlace, byte[] a, int batch, int r0, int r1)
    {
        var t = packed.Type;
        int n = packed.Cols, nb = n / 256;
        RepackedChecks.AssertProducts(packed, inPlace, a, batch, r0, r1,
            (w, x) => RowLane(t, (byte*)w, (byte*)x, n),
            (w, x) => Ggml(t, (byte*)w, (byte*)x, n),
            (w, x) => (2 * nb + 16) * Math.Pow(2, -23) * AbsTerms(t, (byte*)w, (byte*)x, n) + 1e-37);
    }

    [Theory]
    [InlineData(GgmlType.Q4_K, 256, 20)]
    [InlineData(GgmlType.Q4_K, 512, 12)]
    [InlineData(GgmlType.Q4_K, 1536, 10)]
    [InlineData(GgmlType.Q4_K, 4096, 4)]
    [InlineData(GgmlType.Q5_K, 256, 20)]
    [InlineData(GgmlType.Q5_K, 512, 12)]
    [InlineData(GgmlType.Q5_K, 1536, 10)]
    [InlineData(GgmlType.Q5_K, 4096, 4)]
    [InlineData(GgmlType.Q6_K, 256, 20)]
    [InlineData(GgmlType.Q6_K, 512, 12)]
    [InlineData(GgmlType.Q6_K, 1536, 10)]
    [InlineData(GgmlType.Q6_K, 4096, 4)]
    public void RepackedEqualsRowLaneReferenceAndInPlace(GgmlType t, int n, int maxBatch)
    {
        if (!Supported(t)) return;   // no repacking on this machine (CanRepack is false; tested below)
        var rng = new Random(n + (int)t);
        for (int rows = 1; rows <= 33; rows++)
        {
            if (n >= 1536 && rows % 4 != 1 && rows != 8 && rows != 16) continue;   // wide rows: 1, 5, 8, 9, 13, 16, 17, ...
            var w = KQuantData.RandomWeights(t, rows, n, rng);
            fixed (byte* pw = w)
            {
                using var packed = new WeightMatrix(t, pw, n, rows);
                var inPlace = new WeightMatrix(t, pw, n, rows);
                Assert.True(packed.Repack());
                Assert.True(packed.IsRepacked);
                Assert.False(inPlace.IsRepacked);
                for (int batch = 1; batch <= maxBatch; batch++)
                    AssertSame(packed, inPlace, KQuantData.RandomActivations(batch, n, rng), batch, 0, rows);
            }
        }
    }

    /// <summary>
    /// n = 8192 is 32 super-blocks: a 1.5 MB chunk of activation rows holds 152 Q4_K/Q5_K rows (308 bytes per block with
    /// the pair sums) or 72 Q6_K rows (616 with the prepared tile), multiples of 8. 330 rows take three (Q4_K) or five
    /// (Q6_K) chunks, the last with a partial tile; 305 (Q4_K, Q5_K) and 217 (Q6_K) leave a last chunk of one row (the
    /// decode path).
    /// </summary>
    [Theory]
    [InlineData(GgmlType.Q4_K, 330)]
    [InlineData(GgmlType.Q4_K, 305)]
    [InlineData(GgmlType.Q5_K, 305)]
    [InlineData(GgmlType.Q6_K, 330)]
    [InlineData(GgmlType.Q6_K, 217)]
    public void BatchesWiderThanOneChunkStayExact(GgmlType t, int batch)
    {
        if (!Supported(t)) return;
        var rng = new Random(3);
        const int n = 8192, rows = 11;
        var w = KQuantData.RandomWeights(t, rows, n, rng);
        var a = KQuantData.RandomActivations(batch, n, rng);
        fixed (byte* pw = w)
        {
            using var packed = new WeightMatrix(t, pw, n, rows);
            Assert.True(packed.Repack());
            AssertSame(packed, new WeightMatrix(t, pw, n, rows), a, batch, 0, rows);
        }
    }

    /// <summary>
    /// The largest integer sums the kernels can meet: every quant at its top (all quant and scale bytes 0xFF: nibbles 15,
    /// Q5_K fifth bits set, Q6_K quants 63, 6-bit scales and mins 63, Q6_K scales −1) against activation rows of all −128,
    /// all 127 and alternating ones (bsums consistent). Decode keeps Q4_K's high nibbles in place (16 × the sums, see
    /// TileQ4_KRepacked.One) and the tiles split sums into 16-bit halves: both must stay exact here too.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    public void ExtremeQuantsAndActivationsStayExact(GgmlType t)
    {
        if (!Supported(t)) return;
        var rng = new Random(17);
        const int n = 512, rows = 9;
        var w = KQuantData.RandomWeights(t, rows, n, rng);
        int bb = GgmlTypeTraits.BlockBytes(t);
        var (from, to) = t == GgmlType.Q6_K ? (0, 208) : (4, bb);   // everything but the fp16 d (and dmin)
        for (int blk = 0; blk < w.Length / bb; blk++) w.AsSpan(blk * bb + from, to - from).Fill(0xFF);
        int arb = sizeof(BlockQ8_K) * (n / 256);
        var a = new byte[3 * arb];
        for (int b = 0; b < 3; b++)
            for (int i = 0; i < n / 256; i++)
            {
                var block = a.AsSpan(b * arb + i * sizeof(BlockQ8_K), sizeof(BlockQ8_K));
                BitConverter.TryWriteBytes(block, 0.75f);
                for (int l = 0; l < 256; l++) block[4 + l] = (byte)(sbyte)(b == 0 ? -128 : b == 1 ? 127 : l % 2 == 0 ? -128 : 127);
                for (int g = 0; g < 16; g++)
                {
                    int sum = 0;
                    for (int l = 0; l < 16; l++) sum += (sbyte)block[4 + 16 * g + l];
                    BitConverter.TryWriteBytes(block.Slice(260 + 2 * g), (short)sum);
                }
            }
        fixed (byte* pw = w)
        {
            using var packed = new WeightMatrix(t, pw, n, rows);
            Assert.True(packed.Repack());
            var inPlace = new WeightMatrix(t, pw, n, rows);
            for (int b = 0; b < 3; b++) AssertSame(packed, inPlace, a[(b * arb)..((b + 1) * arb)], 1, 0, rows);
            AssertSame(packed, inPlace, a, 3, 0, rows);
        }
    }

    /// <summary>
    /// From 64 activation rows the Q4_K/Q5_K tiles read the quants unpacked once per group, 8 super-blocks at a time:
    /// n = 2816 is 11 super-blocks (a block of 8 and one of 3, the float sums carried across), 13 rows a partial second
    /// group, 67 and 71 rows a partial last tile; row ranges cut both groups.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    public void UnpackedTilesOverSeveralSuperBlockRunsStayExact(GgmlType t)
    {
        if (!Supported(t)) return;
        var rng = new Random(11);
        const int n = 2816, rows = 13;
        var w = KQuantData.RandomWeights(t, rows, n, rng);
        fixed (byte* pw = w)
        {
            using var packed = new WeightMatrix(t, pw, n, rows);
            Assert.True(packed.Repack());
            var inPlace = new WeightMatrix(t, pw, n, rows);
            foreach (int batch in new[] { 64, 67, 71 })
            {
                var a = KQuantData.RandomActivations(batch, n, rng);
                foreach (var (r0, r1) in new[] { (0, 13), (3, 12), (8, 13) })
                    AssertSame(packed, inPlace, a, batch, r0, r1);
            }
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    public void RowRangesCuttingGroupsWriteOnlyTheirRows(GgmlType t)
    {
        if (!Supported(t)) return;
        var rng = new Random(7);
        const int n = 512, rows = 37;
        var w = KQuantData.RandomWeights(t, rows, n, rng);
        fixed (byte* pw = w)
        {
            using var packed = new WeightMatrix(t, pw, n, rows);
            Assert.True(packed.Repack());
            var inPlace = new WeightMatrix(t, pw, n, rows);
            foreach (int batch in new[] { 1, 3, 6, 17 })
            {
                var a = KQuantData.RandomActivations(batch, n, rng);
                foreach (var (r0, r1) in new[] { (0, 37), (1, 37), (3, 20), (5, 13), (8, 16), (8, 37), (36, 37), (32, 37), (10, 10) })
                    AssertSame(packed, inPlace, a, batch, r0, r1);
            }
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    public void PoolProductsSplitOnGroupsAndMatchOneThread(GgmlType t)
    {
        if (!Supported(t)) return;
        var rng = new Random(9);
        const int n = 768, rows = 45;
        var w = KQuantData.RandomWeights(t, rows, n, rng);
        using var pool = new WorkerPool(3);
        fixed (byte* pw = w)
        {
            using var packed = new WeightMatrix(t, pw, n, rows);
            var inPlace = new WeightMatrix(t, pw, n, rows);
            Assert.True(packed.Repack());
            Assert.Equal(8, packed.RowAlignment);
            foreach (int batch in new[] { 1, 2, 7, 20 })
                AssertSame(packed, inPlace, RepackedChecks.PoolSplitEqualsOneCall(packed, pool, rng, batch), batch, 0, rows);
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    public void DequantizedRowsEqualTheSourceRows(GgmlType t)
    {
        if (!Supported(t)) return;
        var rng = new Random(4);
        const int n = 768, rows = 19;
        var w = KQuantData.RandomWeights(t, rows, n, rng);
        fixed (byte* pw = w)
        {
            using var packed = new WeightMatrix(t, pw, n, rows);
            var inPlace = new WeightMatrix(t, pw, n, rows);
            Assert.True(packed.Repack());
            RepackedChecks.RowsDequantizeAsInPlace(packed, inPlace);
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    public void ToBlocksGivesBackTheSourceBytes(GgmlType t)
    {
        if (!Supported(t)) return;
        var rng = new Random(12);
        const int n = 1024, rows = 13;
        var w = KQuantData.RandomWeights(t, rows, n, rng);
        long rb = GgmlTypeTraits.RowBytes(t, n);
        var back = new byte[rb];
        fixed (byte* pw = w)
        fixed (byte* pb = back)
            for (int r = 0; r < rows; r++)
            {
                if (t == GgmlType.Q4_K)
                {
                    using var m = Q4_KRepacked.Create(pw, rb, rows, n);
                    m.ToBlocks(r, (BlockQ4_K*)pb);
                }
                else if (t == GgmlType.Q5_K)
                {
                    using var m = Q5_KRepacked.Create(pw, rb, rows, n);
                    m.ToBlocks(r, (BlockQ5_K*)pb);
                }
                else
                {
                    using var m = Q6_KRepacked.Create(pw, rb, rows, n);
                    m.ToBlocks(r, (BlockQ6_K*)pb);
                }
                Assert.Equal(w.AsSpan((int)(r * rb), (int)rb).ToArray(), back);
            }
    }

    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    public void RepackedCopyNeverReadsTheSourceAgain(GgmlType t)
    {
        if (!Supported(t)) return;
        var rng = new Random(6);
        const int n = 512, rows = 10, batch = 5;
        var w = KQuantData.RandomWeights(t, rows, n, rng);
        var copy = (byte[])w.Clone();
        var a = KQuantData.RandomActivations(batch, n, rng);
        var expected = new float[batch * rows];
        var got = new float[batch * rows];
        var row = new float[n];
        var expectedRow = new float[n];
        fixed (byte* pc = copy)
        {
            using var other = new WeightMatrix(t, pc, n, rows);
            Assert.True(other.Repack());
            other.MatMul(a, batch, expected, 0, rows);
        }
        fixed (byte* pw = w)
        {
            using var packed = new WeightMatrix(t, pw, n, rows);
            Assert.True(packed.Repack());
            fixed (byte* pc = copy) new WeightMatrix(t, pc, n, rows).DequantizeRow(3, expectedRow);
            Array.Clear(w);    // the source pages may be released after repacking: nothing may depend on them
            packed.MatMul(a, batch, got, 0, rows);
            packed.DequantizeRow(3, row);
        }
        Assert.Equal(expected, got);
        Assert.Equal(expectedRow, row);
    }

    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    public void DisposeFreesTheCopyAndFallsBackToTheRows(GgmlType t)
    {
        if (!Supported(t)) return;
        var rng = new Random(8);
        const int n = 512, rows = 12, batch = 3;
        var w = KQuantData.RandomWeights(t, rows, n, rng);
        var a = KQuantData.RandomActivations(batch, n, rng);
        fixed (byte* pw = w)
        {
            var m = new WeightMatrix(t, pw, n, rows);
            Assert.True(m.Repack());
            // 2 groups of 8 rows x 2 super-blocks x the row bytes of a block (Q4_K 144: 2304 B; Q5_K 176: 2816 B;
            // Q6_K 210: 3360 B, rounded up to 3392, a multiple of 64)
            RepackedChecks.DisposeFallsBackToTheRows(m, a, batch, 2 * t switch { GgmlType.Q4_K => 2304, GgmlType.Q5_K => 2816, _ => 3392 },
                (wr, ar) => RowLane(t, (byte*)wr, (byte*)ar, n), (wr, ar) => Ggml(t, (byte*)wr, (byte*)ar, n));
        }

        fixed (byte* pw = w)
        {
            long rb = GgmlTypeTraits.RowBytes(t, n);
            RepackedMatrix raw = t switch
            {
                GgmlType.Q4_K => Q4_KRepacked.Create(pw, rb, rows, n),
                GgmlType.Q5_K => Q5_KRepacked.Create(pw, rb, rows, n),
                _ => Q6_KRepacked.Create(pw, rb, rows, n),
            };
            raw.Dispose();
            Assert.Throws<ObjectDisposedException>(() => (nint)raw.Base);
            raw.Dispose();
        }
    }

    [Fact]
    public void OnlySupportedTypesAreRepacked()
    {
        foreach (var (t, expected) in new[]
        {
            (GgmlType.Q4_0, false), (GgmlType.Q4_K, TileQ4_KRepacked.IsSupported), (GgmlType.Q5_K, TileQ5_KRepacked.IsSupported),
            (GgmlType.Q6_K, TileQ6_KRepacked.IsSupported),
        })
        {
            var w = new byte[GgmlTypeTraits.RowBytes(t, 256) * 8];
            fixed (byte* pw = w)
            {
                using var m = new WeightMatrix(t, pw, 256, 8);
                Assert.Equal(expected, m.CanRepack);
                Assert.Equal(expected, m.Repack());
                Assert.Equal(expected, m.IsRepacked);
            }
        }
    }

    [Fact]
    public void CreateRejectsBadShapes()
    {
        RepackedChecks.AssertRejectsBadShapes(Q4_KRepacked.Create, 144, 256);
        RepackedChecks.AssertRejectsBadShapes(Q5_KRepacked.Create, 176, 256);
        RepackedChecks.AssertRejectsBadShapes(Q6_KRepacked.Create, 210, 256);
    }
}
