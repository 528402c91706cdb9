using Whale.Gguf;
using Whale.Kernels.Quant;

namespace Whale.Tests.Kernels.Quant;

public class QuantizerTests
{
    public static TheoryData<GgmlType> Types() => QuantTestData.WeightTypeData();

    private static double RelRms(float[] a, float[] b)
    {
        double e = 0, s = 0;
        for (int i = 0; i < a.Length; i++) { e += (a[i] - b[i]) * (double)(a[i] - b[i]); s += a[i] * (double)a[i]; }
        return Math.Sqrt(e / s);
    }

    private static double Bound(GgmlType t) => t switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1e-3,
        GgmlType.BF16 => 5e-3,
        GgmlType.Q8_0 => 0.01,
        GgmlType.Q6_K => 0.03,
        GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q5_K => 0.07,
        _ => 0.15,
    };

    [Theory]
    [MemberData(nameof(Types))]
    public void RoundTripErrorIsBounded(GgmlType type)
    {
        var rng = new Random(1234 + (int)type);
        foreach (int n in new[] { 256, 1024, 4096 })
        {
            var x = QuantTestData.RandomFloats(rng, n);
            var y = QuantTestData.Dequantize(type, QuantTestData.Quantize(type, x), n);
            double err = RelRms(x, y);
            Assert.True(err <= Bound(type), $"{type} n={n}: relative RMS error {err}");
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void ZerosStayZero(GgmlType type)
    {
        var x = new float[512];
        var y = QuantTestData.Dequantize(type, QuantTestData.Quantize(type, x), x.Length);
        Assert.All(y, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void F16AndBF16RoundingMatchesGgml()
    {
        float[] x = [1f, 1.0009765625f /* 1 + 2^-10 exact */, 1 + 1f / 2048 /* tie → even (1) */, 3 / 2048f + 1, 65520f, -0.1f];
        var h = QuantTestData.Quantize(GgmlType.F16, x);
        var y = QuantTestData.Dequantize(GgmlType.F16, h, x.Length);
        Assert.Equal(1f, y[0]);
        Assert.Equal(1.0009765625f, y[1]);
        Assert.Equal(1f, y[2]);
        Assert.Equal(1 + 2f / 1024, y[3]);
        Assert.True(float.IsPositiveInfinity(y[4]));
        Assert.Equal((float)(Half)(-0.1f), y[5]);

        // bf16: (bits + 0x7FFF + lsb) >> 16; NaN stays NaN (quiet)
        Assert.Equal((ushort)0x3F80, Fp16.FloatToBF16(1f));
        Assert.Equal((ushort)0x3F80, Fp16.FloatToBF16(BitConverter.UInt32BitsToSingle(0x3F808000))); // tie → even
        Assert.Equal((ushort)0x3F82, Fp16.FloatToBF16(BitConverter.UInt32BitsToSingle(0x3F818000))); // tie → even (up)
        Assert.Equal((ushort)0x3F81, Fp16.FloatToBF16(BitConverter.UInt32BitsToSingle(0x3F808001)));
        Assert.True(float.IsNaN(Fp16.BF16ToFloat(Fp16.FloatToBF16(float.NaN))));
        Assert.Equal(1f, Fp16.BF16ToFloat(0x3F80));
    }

    [Fact]
    public void HandMadeQ4_0BlockDequantizes()
    {
        var b = new byte[18];
        BitConverter.TryWriteBytes(b.AsSpan(0, 2), BitConverter.HalfToUInt16Bits((Half)0.5f));
        b[2] = 0x9F; // j=0: low nibble 15 → (15-8)*0.5 = 3.5; high nibble 9 → y[16] = 0.5
        b[3] = 0x08; // j=1: low 8 → 0; high 0 → -4
        var y = new float[32];
        Quantizer.DequantizeRow(GgmlType.Q4_0, b, y);
        Assert.Equal(3.5f, y[0]);
        Assert.Equal(0.5f, y[16]);
        Assert.Equal(0f, y[1]);
        Assert.Equal(-4f, y[17]);
    }

    [Fact]
    public void HandMadeQ5_0BlockDequantizes()
    {
        var b = new byte[22];
        BitConverter.TryWriteBytes(b.AsSpan(0, 2), BitConverter.HalfToUInt16Bits((Half)1f));
        uint qh = (1u << 0) | (1u << 17); // fifth bit of y[0] and y[17]
        BitConverter.TryWriteBytes(b.AsSpan(2, 4), qh);
        b[6] = 0x03; // j=0: lo = 3|16 = 19 → 3; hi = 0 → -16
        b[7] = 0x20; // j=1: lo = 0 → -16; hi = 2|16 = 18 → 2
        var y = new float[32];
        Quantizer.DequantizeRow(GgmlType.Q5_0, b, y);
        Assert.Equal(3f, y[0]);
        Assert.Equal(-16f, y[16]);
        Assert.Equal(-16f, y[1]);
        Assert.Equal(2f, y[17]);
    }

    [Fact]
    public void HandMadeQ4_KBlockDequantizes()
    {
        var b = new byte[144];
        BitConverter.TryWriteBytes(b.AsSpan(0, 2), BitConverter.HalfToUInt16Bits((Half)0.5f)); // d
        BitConverter.TryWriteBytes(b.AsSpan(2, 2), BitConverter.HalfToUInt16Bits((Half)0.25f)); // dmin
        var s = b.AsSpan(4, 12);
        // sub-block 0: sc = 2, m = 4 ; sub-block 1: sc = 3, m = 1 ; sub-block 5: sc = 0x25 (37), m = 0x31 (49)
        s[0] = 2; s[4] = 4;
        s[1] = 3; s[5] = 1;
        // j=5: sc = (s[9] & 0xF) | ((s[1] >> 6) << 4); m = (s[9] >> 4) | ((s[5] >> 6) << 4)
        s[9] = 0x15; s[1] |= 2 << 6; s[5] |= 3 << 6;
        var qs = b.AsSpan(16, 128);
        qs[0] = 0x7A; // value 0 (sub-block 0) = 10, value 32 (sub-block 1) = 7
        qs[64 + 3] = 0xC0; // chunk 2: value 128+3 (sub-block 4) = 0, value 160+3 (sub-block 5) = 12
        var y = new float[256];
        Quantizer.DequantizeRow(GgmlType.Q4_K, b, y);
        Assert.Equal(0.5f * 2 * 10 - 0.25f * 4, y[0]);
        Assert.Equal(0.5f * 3 * 7 - 0.25f * 1, y[32]);
        Assert.Equal(0.5f * 37 * 12 - 0.25f * 49, y[163]);
        Assert.Equal(-0.25f * 1, y[33]);
    }

    [Fact]
    public void HandMadeQ6_KBlockDequantizes()
    {
        var b = new byte[210];
        var ql = b.AsSpan(0, 128);
        var qh = b.AsSpan(128, 64);
        var sc = b.AsSpan(192, 16);
        BitConverter.TryWriteBytes(b.AsSpan(208, 2), BitConverter.HalfToUInt16Bits((Half)0.125f));
        sc[0] = 4; sc[2] = unchecked((byte)-3); sc[12] = 7;
        ql[0] = 0x05; qh[0] = 0b00_00_00_10; // y[0] = (5 | 2<<4) - 32 = 5 → 0.125*4*5
        ql[32] = 0x00; // y[32]: (0 | ((qh[0]>>2)&3)<<4) - 32 = -32 → 0.125*(-3)*(-32)
        ql[64 + 1] = 0x90; qh[32 + 1] = 0b00_11_00_00; // half 1, l=1: y[128+64+1] = (9 | 3<<4) - 32 = 25, scale 8+0+4 = 12
        var y = new float[256];
        Quantizer.DequantizeRow(GgmlType.Q6_K, b, y);
        Assert.Equal(0.125f * 4 * 5, y[0]);
        Assert.Equal(0.125f * -3 * -32, y[32]);
        Assert.Equal(0.125f * 7 * 25, y[128 + 64 + 1]);
    }
}
