using Whale.Kernels;

namespace Whale.Tests.Kernels;

/// <summary><see cref="SwiGlu"/> equals the scalar ggml form per element, bit for bit, on every path and split.</summary>
public class SwiGluTests
{
    private static float[] Values(int n, int seed)
    {
        var rng = new Random(seed);
        float[] special = [0f, -0f, 1e-40f, -1e-40f, 88.7f, -88.7f, 103.9f, -103.9f, 200f, -200f, float.MaxValue, float.MinValue,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1e-7f, -1e-7f];
        var v = new float[n];
        for (int i = 0; i < n; i++)
            v[i] = i < special.Length && seed % 2 == 0 ? special[i] : (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-6, 3)));
        return v;
    }

    private static void AssertScalar(float[] gate, float[] up, float[] got)
    {
        for (int i = 0; i < gate.Length; i++)
        {
            float expected = GgmlMath.Silu(gate[i]) * up[i];
            if (float.IsNaN(expected)) Assert.True(float.IsNaN(got[i]), $"{i}: silu({gate[i]:R})·{up[i]:R} = {got[i]:R}, expected NaN");
            else Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(got[i]), $"{i}: silu({gate[i]:R})·{up[i]:R} = {got[i]:R}, expected {expected:R}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(8960)]
    public void VectorFormEqualsTheScalarForm(int n)
    {
        for (int seed = 0; seed < 4; seed++)
        {
            var gate = Values(n, seed);
            var up = Values(n, seed + 100);
            var got = (float[])gate.Clone();
            SwiGlu.Apply(got, up);
            AssertScalar(gate, up, got);
        }
    }

    [Theory]
    [InlineData(1, 40000)]
    [InlineData(2, 40000)]
    [InlineData(3, 65541)]
    [InlineData(2, 100)]
    public void PooledFormEqualsTheScalarForm(int workers, int n)
    {
        using var pool = new WorkerPool(workers);
        var gate = Values(n, 6);
        var up = Values(n, 7);
        var got = (float[])gate.Clone();
        SwiGlu.Apply(pool, got, up);
        AssertScalar(gate, up, got);
    }

    [Fact]
    public void ShortUpIsRejected()
    {
        Assert.Throws<ArgumentException>(() => SwiGlu.Apply(new float[4], new float[3]));
        using var pool = new WorkerPool(2);
        Assert.Throws<ArgumentException>(() => SwiGlu.Apply(pool, new float[4], new float[3]));
    }
}
