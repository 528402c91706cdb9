using System.Numerics.Tensors;

namespace Whale.Kernels;

/// <summary>RMSNorm as ggml computes it: float squares summed in double, y = x / sqrt(mean + eps) * w.</summary>
public static class RmsNorm
{
    /// <summary>Normalizes one row; <paramref name="weight"/> may be empty (no scaling).</summary>
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException("destination too short", nameof(y));
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += x[i] * x[i];   // float product, double sum (as ggml)
        float mean = (float)(sum / x.Length);
        float scale = 1.0f / MathF.Sqrt(mean + eps);
        // (x · scale) · w per element, as the scalar loop did: vectorized products, same roundings
        var yx = y[..x.Length];
        TensorPrimitives.Multiply(x, scale, yx);
        if (!weight.IsEmpty) TensorPrimitives.Multiply(yx, weight[..x.Length], yx);
    }

    /// <summary>Normalizes <paramref name="rows"/> consecutive rows of <paramref name="dim"/> values.</summary>
    public static void ApplyRows(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y, int rows, int dim)
    {
        for (int r = 0; r < rows; r++)
            Apply(x.Slice(r * dim, dim), weight, eps, y.Slice(r * dim, dim));
    }
}
