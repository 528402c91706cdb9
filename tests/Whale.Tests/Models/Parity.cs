namespace Whale.Tests.Models;

/// <summary>Comparison helpers for logits of two engines.</summary>
internal static class Parity
{
    /// <summary>max |a - b| / max |b|.</summary>
    public static double MaxRelativeDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(b.Length, a.Length);
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < a.Length; i++)
        {
            Assert.False(float.IsNaN(a[i]), $"NaN logit at {i}");
            maxDiff = Math.Max(maxDiff, Math.Abs(a[i] - b[i]));
            maxRef = Math.Max(maxRef, Math.Abs(b[i]));
        }
        return maxDiff / Math.Max(maxRef, 1e-30);
    }
}
