using Whale.Gguf;
using Whale.Kernels.Quant;

namespace Whale.Tests.Kernels.Quant;

/// <summary>
/// The tiled Q8_0 kernels against <see cref="VecDot.Q8_0Q8_0"/>, bit for bit: every tile shape (8-row zmm tile, 4-row
/// ymm tile, reference rows; 1..4 activation rows per tile), chunked activations, extreme quants and the −128 fallback.
/// </summary>
public unsafe class TileQ8_0Tests
{
    public enum Kernel { Avx512, Avx2Vnni }

    private delegate void MatMulFn(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n, float* y, int yStride);

    /// <summary>The kernel, or null when this machine cannot run it (the test then has nothing to check).</summary>
    private static MatMulFn? Get(Kernel k) => k switch
    {
        Kernel.Avx512 when TileQ8_0Avx512.IsSupported => TileQ8_0Avx512.MatMul,
        Kernel.Avx2Vnni when TileQ8_0.IsSupported => TileQ8_0.MatMul,
        _ => null,
    };

    /// <summary>Random Q8_0 rows: random F16 scales (normal and subnormal, both signs), quants over the full byte range (−128 and 127 included).</summary>
    private static byte[] RandomRows(Random rng, int rows, int n, bool allowMin)
    {
        int nb = n / 32;
        var data = new byte[rows * nb * 34];
        rng.NextBytes(data);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < nb; i++)
            {
                int o = (r * nb + i) * 34;
                // exponent 1..29 (normal) or 0 (subnormal): finite scales, never inf/NaN
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

    private static void AssertMatches(MatMulFn kernel, byte[] w, byte[] a, int rows, int batch, int n, int r0, int r1)
    {
        long rb = n / 32 * 34;
        var y = new float[batch * rows];
        Array.Fill(y, float.NaN);
        fixed (byte* pw = w)
        fixed (byte* pa = a)
        fixed (float* py = y)
        {
            kernel(pw, rb, r0, r1, pa, rb, batch, n, py, rows);
            for (int b = 0; b < batch; b++)
                for (int r = 0; r < rows; r++)
                {
                    int got = BitConverter.SingleToInt32Bits(y[b * rows + r]);
                    if (r < r0 || r >= r1)
                    {
                        Assert.True(float.IsNaN(y[b * rows + r]), $"row {r} outside [{r0}, {r1}) was written");
                        continue;
                    }
                    float expected = VecDot.Q8_0Q8_0((BlockQ8_0*)(pw + r * rb), (BlockQ8_0*)(pa + b * rb), n);
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == got,
                        $"n={n} rows={rows} batch={batch} r={r} b={b}: {y[b * rows + r]:R} vs {expected:R}");
                }
        }
    }

    [Theory]
    [InlineData(Kernel.Avx512, 32)]
    [InlineData(Kernel.Avx512, 64)]
    [InlineData(Kernel.Avx512, 96)]
    [InlineData(Kernel.Avx512, 1536)]
    [InlineData(Kernel.Avx512, 4096)]
    [InlineData(Kernel.Avx2Vnni, 32)]
    [InlineData(Kernel.Avx2Vnni, 96)]
    [InlineData(Kernel.Avx2Vnni, 1536)]
    public void EqualsVecDotForEveryTileShape(Kernel k, int n)
    {
        if (Get(k) is not { } kernel) return;
        var rng = new Random(n * 31 + (int)k);
        // rows: tile8 only, tile4 only, reference only, and mixes (8+4, 8+4+3, 2*8+1)
        foreach (int rows in new[] { 8, 4, 3, 12, 15, 17, 1 })
        {
            var w = RandomRows(rng, rows, n, allowMin: true);
            for (int batch = 1; batch <= 20; batch++)
            {
                if (n >= 1536 && batch % 3 != 1 && batch != 4) continue;   // keep big widths quick: 1, 4, 7, 10, ...
                var a = RandomRows(rng, batch, n, allowMin: false);
                AssertMatches(kernel, w, a, rows, batch, n, 0, rows);
            }
        }
    }

    [Theory]
    [InlineData(Kernel.Avx512)]
    [InlineData(Kernel.Avx2Vnni)]
    public void RowRangesNotOnTileBoundariesWriteOnlyTheirRows(Kernel k)
    {
        if (Get(k) is not { } kernel) return;
        var rng = new Random(7);
        const int n = 256, rows = 37;
        var w = RandomRows(rng, rows, n, allowMin: true);
        var a = RandomRows(rng, 6, n, allowMin: false);
        foreach (var (r0, r1) in new[] { (0, 37), (1, 37), (3, 20), (5, 13), (8, 16), (36, 37), (10, 10) })
            AssertMatches(kernel, w, a, rows, 6, n, r0, r1);
    }

    [Theory]
    [InlineData(Kernel.Avx512)]
    [InlineData(Kernel.Avx2Vnni)]
    public void ActivationQuantMinus128TakesTheReferenceOrder(Kernel k)
    {
        // with a = −128 the sign form of ggml (|w| · sign(a, w)) wraps where the exact sum does not: the kernels must
        // give VecDot's (ggml's) value, not the exact one
        if (Get(k) is not { } kernel) return;
        var rng = new Random(11);
        const int n = 128, rows = 16;
        var w = RandomRows(rng, rows, n, allowMin: true);
        for (int batch = 1; batch <= 6; batch++)
        {
            var a = RandomRows(rng, batch, n, allowMin: false);
            a[(batch - 1) * (n / 32 * 34) + 2 + 5] = 0x80;      // one −128 in the last activation row
            AssertMatches(kernel, w, a, rows, batch, n, 0, rows);
        }
        // the case really differs from the exact sum: weight −1, activation −128 in lane 0
        var w1 = new byte[34]; var a1 = new byte[34];
        w1[1] = 0x3C; a1[1] = 0x3C;                                 // scales 1.0
        w1[2] = 0xFF; a1[2] = 0x80;                                 // −1 · −128
        fixed (byte* pw = w1)
        fixed (byte* pa = a1)
        {
            float y;
            kernel(pw, 34, 0, 1, pa, 34, 1, 32, &y, 1);
            Assert.Equal(VecDot.Q8_0Q8_0((BlockQ8_0*)pw, (BlockQ8_0*)pa, 32), y);
            Assert.Equal(-128f, y);                                  // ggml's value; the exact product is +128
        }
    }

    [Fact]
    public void ActivationRowsInSeveralChunksMatchWithAndWithoutMinus128()
    {
        // n = 4096: 180 activation rows per prepared chunk (1.5 MB of 8704-byte rows), so 400 rows make three
        // chunks; then a −128 in the second chunk only (that chunk takes the reference, the others the tiles)
        if (Get(Kernel.Avx512) is not { } kernel) return;
        var rng = new Random(13);
        const int n = 4096, rows = 12, batch = 400;
        var w = RandomRows(rng, rows, n, allowMin: true);
        var a = RandomRows(rng, batch, n, allowMin: false);
        AssertMatches(kernel, w, a, rows, batch, n, 0, rows);
        a[250 * (n / 32 * 34) + 40] = 0x80;
        AssertMatches(kernel, w, a, rows, batch, n, 0, rows);
    }

    [Fact]
    public void QuantizedActivationsNeverHoldMinus128()
    {
        // the fast path's premise: the activation quantizer rounds into [−127, 127], even for extreme inputs
        var rng = new Random(17);
        var x = QuantTestData.RandomFloats(rng, 4096, 3f);
        x[0] = -1e30f; x[1] = 1e30f; x[2] = -float.Epsilon; x[100] = float.MinValue; x[200] = float.MaxValue; x[300] = float.NaN; x[400] = float.PositiveInfinity;
        var q = new byte[GgmlTypeTraits.RowBytes(GgmlType.Q8_0, x.Length)];
        fixed (float* px = x)
        fixed (byte* pq = q)
        {
            ActivationQuantizer.Convert(GgmlType.Q8_0, px, pq, x.Length);
            Assert.False(TileQ8_0.HasMinQuant(pq, q.Length, 1, x.Length / 32));
        }
    }
}
