namespace Whale.Diagnostics;

/// <summary>Median, 90th and 99th percentile (nearest rank) and mean of a set of measurements.</summary>
public readonly record struct Percentiles(double P50, double P90, double P99, double Mean)
{
    /// <summary>The percentiles of <paramref name="values"/> (all zero when there are none).</summary>
    public static Percentiles Of(IReadOnlyCollection<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) return default;
        var s = values.Order().ToArray();
        double At(double p) => s[Math.Min(s.Length - 1, (int)Math.Floor(p * (s.Length - 1) + 0.5))];
        return new Percentiles(At(0.5), At(0.9), At(0.99), s.Average());
    }
}
