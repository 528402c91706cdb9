using Whale.Gguf;
using Whale.Kernels;
using Whale.Kernels.Quant;

namespace Whale.Tests.Kernels.Quant;

/// <summary>
/// The tiled products (<see cref="Tiles"/>) against the one-row dot Whale uses for each type: every output must be
/// bit-identical, for each instruction set this machine has, over shapes that are not multiples of the tiles,
/// random blocks with extreme scales and activation rows quantized from floats of very different magnitudes.
/// </summary>
public unsafe class TilesTests
{
    private static readonly GgmlType[] TiledTypes =
    [
        GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.F32, GgmlType.F16, GgmlType.BF16,
        GgmlType.Q5_0, GgmlType.Q4_0, GgmlType.Q5_K, GgmlType.Q4_1, GgmlType.Q5_1,
    ];

    /// <summary>(type, instruction set name) for every set this machine runs.</summary>
    public static TheoryData<GgmlType, string> Cases()
    {
        var d = new TheoryData<GgmlType, string>();
        foreach (var t in TiledTypes)
            foreach (var isa in new[] { TileIsa.Avx2, TileIsa.Avx512 })
                if (Tiles.IsAvailable(isa)) d.Add(t, isa.ToString());
        return d;
    }

    public static TheoryData<GgmlType> Types()
    {
        var d = new TheoryData<GgmlType>();
        foreach (var t in TiledTypes) d.Add(t);
        return d;
    }

    /// <summary>The row dot WeightMatrix used before the tiles (and still uses for one activation row).</summary>
    private static float RowDot(GgmlType t, byte* w, byte* a, int n) => t switch
    {
        GgmlType.F32 => VecDot.ChainF32((float*)w, (float*)a, n),
        GgmlType.F16 => VecDot.ChainF16((ushort*)w, (ushort*)a, n),
        GgmlType.BF16 => VecDot.ChainBF16((ushort*)w, (ushort*)a, n),
        GgmlType.Q4_0 => VecDot.Q4_0Q8_0((BlockQ4_0*)w, (BlockQ8_0*)a, n),
        GgmlType.Q5_0 => VecDot.Q5_0Q8_0((BlockQ5_0*)w, (BlockQ8_0*)a, n),
        GgmlType.Q4_1 => VecDot.Q4_1Q8_1((BlockQ4_1*)w, (BlockQ8_1*)a, n),
        GgmlType.Q5_1 => VecDot.Q5_1Q8_1((BlockQ5_1*)w, (BlockQ8_1*)a, n),
        GgmlType.Q4_K => VecDot.Q4_KQ8_K((BlockQ4_K*)w, (BlockQ8_K*)a, n),
        GgmlType.Q5_K => VecDot.Q5_KQ8_K((BlockQ5_K*)w, (BlockQ8_K*)a, n),
        GgmlType.Q6_K => VecDot.Q6_KQ8_K((BlockQ6_K*)w, (BlockQ8_K*)a, n),
        _ => throw new NotSupportedException(t.ToString()),
    };

    private static int[] Lengths(GgmlType t) => GgmlTypeTraits.BlockSize(t) switch
    {
        1 => [16, 48, 64, 208, 1536, 4096],
        32 => [32, 96, 160, 1024, 4096],
        _ => [256, 768, 1536, 4096],
    };

    private static readonly (int Rows, int Batch)[] Shapes =
        [(1, 2), (4, 2), (3, 5), (5, 3), (8, 4), (9, 7), (13, 16), (6, 17), (11, 20), (4, 65), (7, 130)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void TilesEqualRowDotBitForBit(GgmlType type, string isaName)
    {
        var isa = Enum.Parse<TileIsa>(isaName);
        var rng = new Random(1234 + (int)type * 31 + (int)isa);
        foreach (int n in Lengths(type))
            foreach (var (rows, batch) in Shapes)
            {
                if ((long)n * batch > 140_000) continue;     // keep the test short; 4096 x 20 still runs
                Check(type, isa, n, rows, batch, rng);
            }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TilesWriteOnlyTheirRowRange(GgmlType type, string isaName)
    {
        var isa = Enum.Parse<TileIsa>(isaName);
        int n = Lengths(type)[1];
        const int rows = 11, batch = 6, r0 = 3, r1 = 9, stride = rows + 2;
        var rng = new Random(77 + (int)type);
        var w = RandomWeights(type, rows, n, rng);
        var a = RandomActivations(ActivationQuantizer.VecDotType(type), batch, n, rng);
        long rb = GgmlTypeTraits.RowBytes(type, n), arb = GgmlTypeTraits.RowBytes(ActivationQuantizer.VecDotType(type), n);
        var y = new float[batch * stride];
        y.AsSpan().Fill(float.NaN);
        fixed (byte* pw = w)
        fixed (byte* pa = a)
        fixed (float* py = y)
        {
            Assert.True(Tiles.TryMatMul(type, pw, rb, r0, r1, pa, arb, batch, n, py, stride, batchOrder: true, isa));
            for (int b = 0; b < batch; b++)
                for (int r = 0; r < stride; r++)
                {
                    float v = y[b * stride + r];
                    if (r >= r0 && r < r1)
                        Assert.Equal(BitConverter.SingleToInt32Bits(RowDot(type, pw + r * rb, pa + b * arb, n)), BitConverter.SingleToInt32Bits(v));
                    else
                        Assert.True(float.IsNaN(v), $"wrote outside rows [{r0}, {r1}) at r={r} b={b}");
                }
        }
    }

    [Fact]
    public void TypesWithoutTilesAreRefused()
    {
        float y = 0;
        byte dummy = 0;
        // float types: only the tinyBLAS order, and only for rows of a multiple of 16
        Assert.False(Tiles.TryMatMul(GgmlType.F32, &dummy, 4, 0, 1, &dummy, 4, 2, 16, &y, 1, batchOrder: false, Tiles.BestIsa));
        Assert.False(Tiles.TryMatMul(GgmlType.F16, &dummy, 4, 0, 1, &dummy, 4, 2, 24, &y, 1, batchOrder: true, Tiles.BestIsa));
        Assert.False(Tiles.TryMatMul(GgmlType.Q8_0, &dummy, 34, 0, 1, &dummy, 34, 2, 32, &y, 1, true, Tiles.BestIsa));
        Assert.False(Tiles.TryMatMul(GgmlType.Q4_K, &dummy, 144, 0, 1, &dummy, 292, 2, 256, &y, 1, true, TileIsa.None));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void WeightMatrixBatchEqualsSingleRows(GgmlType type)
    {
        const int rows = 10, batch = 9;
        int n = Lengths(type)[2];
        var rng = new Random(5 + (int)type);
        var w = RandomWeights(type, rows, n, rng);
        var x = QuantTestData.RandomFloats(rng, n * batch, 3f);
        fixed (byte* pw = w)
        {
            var m = new WeightMatrix(type, pw, n, rows);
            var qx = new byte[batch * m.ActivationRowBytes];
            m.ConvertActivations(x, batch, qx);
            var y = new float[batch * rows];
            m.MatMul(qx, batch, y, 0, rows);
            var one = new float[rows];
            for (int b = 0; b < batch; b++)
            {
                m.MatMul(qx.AsSpan((int)(b * m.ActivationRowBytes), (int)m.ActivationRowBytes), 1, one, 0, rows, batchOrder: true);
                for (int r = 0; r < rows; r++)
                    Assert.Equal(BitConverter.SingleToInt32Bits(one[r]), BitConverter.SingleToInt32Bits(y[b * rows + r]));
            }
        }
    }

    private static void Check(GgmlType type, TileIsa isa, int n, int rows, int batch, Random rng)
    {
        var act = ActivationQuantizer.VecDotType(type);
        long rb = GgmlTypeTraits.RowBytes(type, n), arb = GgmlTypeTraits.RowBytes(act, n);
        var w = RandomWeights(type, rows, n, rng);
        var a = RandomActivations(act, batch, n, rng);
        var y = new float[batch * rows];
        fixed (byte* pw = w)
        fixed (byte* pa = a)
        fixed (float* py = y)
        {
            Assert.True(Tiles.TryMatMul(type, pw, rb, 0, rows, pa, arb, batch, n, py, rows, batchOrder: true, isa));
            for (int b = 0; b < batch; b++)
                for (int r = 0; r < rows; r++)
                {
                    float e = RowDot(type, pw + r * rb, pa + b * arb, n);
                    float v = y[b * rows + r];
                    if (BitConverter.SingleToInt32Bits(e) != BitConverter.SingleToInt32Bits(v))
                        Assert.Fail($"{type} {isa} n={n} rows={rows} batch={batch}: y[{b},{r}] = {v:R}, row dot {e:R}");
                }
        }
    }

    // ---- data ------------------------------------------------------------------------------------------------

    /// <summary>Byte offsets of the fp16 scale fields in a block of <paramref name="t"/>.</summary>
    private static int[] HalfFields(GgmlType t) => t switch
    {
        GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0 => [0],
        GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q8_1 or GgmlType.Q4_K or GgmlType.Q5_K => [0, 2],
        GgmlType.Q6_K => [208],
        _ => [],
    };

    /// <summary>fp16 bits of ±m·2^e, e from subnormal to near the top of the range.</summary>
    private static ushort RandomHalf(Random rng)
        => Fp16.FromFloat((rng.Next(2) == 0 ? 1 : -1) * (float)(1 + rng.NextDouble()) * MathF.Pow(2, rng.Next(-24, 15)));

    private static float RandomMagnitude(Random rng) => MathF.Pow(10, rng.Next(-12, 13));

    /// <summary>Rows: half quantized from floats (realistic), half random bytes with random fp16 scales.</summary>
    private static byte[] RandomWeights(GgmlType t, int rows, int n, Random rng)
    {
        long rb = GgmlTypeTraits.RowBytes(t, n);
        var w = new byte[rb * rows];
        for (int r = 0; r < rows; r++)
        {
            var row = w.AsSpan((int)(r * rb), (int)rb);
            if (r % 2 == 0)
                Quantizer.QuantizeRow(t, QuantTestData.RandomFloats(rng, n, r % 4 == 0 ? 1f : 1e-3f), row);
            else
                RandomBlocks(t, row, n, rng);
        }
        return w;
    }

    private static void RandomBlocks(GgmlType t, Span<byte> row, int n, Random rng)
    {
        switch (t)
        {
            case GgmlType.F32:
                {
                    var f = new float[n];
                    for (int i = 0; i < n; i++) f[i] = (float)(rng.NextDouble() * 2 - 1) * RandomMagnitude(rng);
                    System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.AsSpan()).CopyTo(row);
                    return;
                }
            case GgmlType.F16:
                for (int i = 0; i < n; i++) BitConverter.TryWriteBytes(row.Slice(2 * i), RandomHalf(rng));
                return;
            case GgmlType.BF16:
                for (int i = 0; i < n; i++)
                    BitConverter.TryWriteBytes(row.Slice(2 * i), Fp16.FloatToBF16((float)(rng.NextDouble() * 2 - 1) * RandomMagnitude(rng)));
                return;
        }
        rng.NextBytes(row);
        int bb = GgmlTypeTraits.BlockBytes(t), nb = n / GgmlTypeTraits.BlockSize(t);
        for (int i = 0; i < nb; i++)
        {
            var block = row.Slice(i * bb, bb);
            foreach (int off in HalfFields(t)) BitConverter.TryWriteBytes(block.Slice(off), RandomHalf(rng));
            if (t == GgmlType.Q8_K)
            {
                BitConverter.TryWriteBytes(block, (float)(rng.NextDouble() + 0.5) * RandomMagnitude(rng));
                if (rng.Next(2) == 0)
                    for (int g = 0; g < 16; g++)
                    {
                        int s = 0;
                        for (int l = 0; l < 16; l++) s += (sbyte)block[4 + 16 * g + l];
                        BitConverter.TryWriteBytes(block.Slice(260 + 2 * g), (short)s);
                    }
            }
        }
    }

    /// <summary>Activation rows: most converted from floats of random magnitude (some all zero), some raw blocks.</summary>
    private static byte[] RandomActivations(GgmlType act, int batch, int n, Random rng)
    {
        long arb = GgmlTypeTraits.RowBytes(act, n);
        var a = new byte[arb * batch];
        for (int b = 0; b < batch; b++)
        {
            var row = a.AsSpan((int)(b * arb), (int)arb);
            int kind = rng.Next(6);
            if (kind == 0 && act is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16))
            {
                RandomBlocks(act, row, n, rng);
                continue;
            }
            // kind 2: max |x| below 127 / float.MaxValue, where quantize_row_q8_0 writes −128 quants
            var x = QuantTestData.RandomFloats(rng, n, kind == 1 ? 0f : kind == 2 ? 1e-37f : RandomMagnitude(rng));
            if (act == GgmlType.F16)
                for (int i = 0; i < n; i++) x[i] = Math.Clamp(x[i], -60000f, 60000f);
            fixed (float* px = x)
            fixed (byte* pq = row)
                ActivationQuantizer.Convert(act, px, pq, n);
        }
        return a;
    }
}
