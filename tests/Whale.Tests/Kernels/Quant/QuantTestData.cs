using Whale.Gguf;
using Whale.Kernels.Quant;

namespace Whale.Tests.Kernels.Quant;

internal static class QuantTestData
{
    public static readonly GgmlType[] WeightTypes =
    [
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1,
        GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    ];

    public static TheoryData<GgmlType> WeightTypeData()
    {
        var d = new TheoryData<GgmlType>();
        foreach (var t in WeightTypes) d.Add(t);
        return d;
    }

    /// <summary>Gaussian-ish values with occasional outliers.</summary>
    public static float[] RandomFloats(Random rng, int n, float scale = 1f)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u = rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5;
            x[i] = (float)(u * scale * (rng.Next(50) == 0 ? 4 : 1));
        }
        return x;
    }

    public static byte[] Quantize(GgmlType type, float[] x)
    {
        var q = new byte[GgmlTypeTraits.RowBytes(type, x.Length)];
        Quantizer.QuantizeRow(type, x, q);
        return q;
    }

    public static float[] Dequantize(GgmlType type, byte[] q, int n)
    {
        var y = new float[n];
        Quantizer.DequantizeRow(type, q, y);
        return y;
    }

    public static byte[] Activations(GgmlType weightType, float[] x)
    {
        var act = ActivationQuantizer.VecDotType(weightType);
        var q = new byte[GgmlTypeTraits.RowBytes(act, x.Length)];
        unsafe
        {
            fixed (float* px = x)
            fixed (byte* pq = q)
                ActivationQuantizer.Convert(act, px, pq, x.Length);
        }
        return q;
    }
}
