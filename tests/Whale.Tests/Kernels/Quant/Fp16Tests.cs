using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Whale.Kernels.Quant;

namespace Whale.Tests.Kernels.Quant;

public class Fp16Tests
{
    [Fact]
    public void ToFloat8EqualsTheScalarConversionForAll65536Values()
    {
        if (!Avx2.IsSupported) return;
        var h = new ushort[8];
        for (int v = 0; v < 65536; v += 8)
        {
            for (int j = 0; j < 8; j++) h[j] = (ushort)(v + j);
            var f = Fp16.ToFloat8(Vector128.Create(h));
            for (int j = 0; j < 8; j++)
            {
                float expected = Fp16.ToFloat(h[j]), got = f.GetElement(j);
                if (float.IsNaN(expected)) Assert.True(float.IsNaN(got), $"0x{h[j]:x4}: {got:R} is not NaN");
                else Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(got), $"0x{h[j]:x4}: {got:R} vs {expected:R}");
            }
        }
    }

    [Fact]
    public void FiniteToFloat8EqualsTheScalarConversionForEveryFiniteValue()
    {
        if (!Avx2.IsSupported) return;
        var h = new short[8];
        int checkedValues = 0;
        for (int v = 0; v < 65536; v += 8)
        {
            for (int j = 0; j < 8; j++) h[j] = (short)(v + j);
            var f = Fp16.FiniteToFloat8(Vector128.Create(h));
            for (int j = 0; j < 8; j++)
            {
                ushort bits = (ushort)h[j];
                Assert.Equal(!float.IsFinite(Fp16.ToFloat(bits)), !Fp16.IsFinite(bits));
                if (!Fp16.IsFinite(bits)) continue;
                float expected = Fp16.ToFloat(bits), got = f.GetElement(j);
                Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(got), $"0x{bits:x4}: {got:R} vs {expected:R}");
                checkedValues++;
            }
        }
        Assert.Equal(65536 - 2 * 1024, checkedValues);   // all but the two exponent-31 ranges (±inf, NaNs)
    }

    [Fact]
    public unsafe void SpanConversionEqualsTheTableBitForBitForAll65536ValuesAndEveryLength()
    {
        // every value in order (vectors with and without infinities/NaNs), then odd lengths and offsets for the tail
        var src = new ushort[65536 + 40];
        for (int v = 0; v < src.Length; v++) src[v] = (ushort)(v * 40503);   // an odd multiplier permutes the 16-bit values
        for (int v = 0; v < 65536; v++) src[v] = (ushort)v;
        var dst = new float[src.Length];
        fixed (ushort* ps = src)
        fixed (float* pd = dst)
        {
            Fp16.ToFloat(ps, pd, 65536);
            for (int n = 0; n <= 40; n++) Fp16.ToFloat(ps + 65536 + (40 - n) / 2, pd + 65536 + (40 - n) / 2, n);
        }
        for (int v = 0; v < src.Length; v++)
            Assert.True(BitConverter.SingleToInt32Bits(Fp16.ToFloat(src[v])) == BitConverter.SingleToInt32Bits(dst[v]), $"0x{src[v]:x4} at {v}: {dst[v]:R}");
    }
}
