namespace Whale.Diagnostics;

/// <summary>Summary of repeated measurements (tokens per second per repetition).</summary>
public sealed record BenchmarkStats(IReadOnlyList<double> Samples)
{
    /// <summary>Arithmetic mean of the samples.</summary>
    public double Mean => Samples.Count == 0 ? 0 : Samples.Average();

    /// <summary>Median of the samples (mean of the two middle ones for an even count).</summary>
    public double Median
    {
        get
        {
            if (Samples.Count == 0) return 0;
            var s = Samples.Order().ToArray();
            int m = s.Length / 2;
            return s.Length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
        }
    }

    /// <summary>Sample standard deviation (0 for fewer than two samples).</summary>
    public double StdDev
    {
        get
        {
            if (Samples.Count < 2) return 0;
            double mean = Mean;
            return Math.Sqrt(Samples.Sum(x => (x - mean) * (x - mean)) / (Samples.Count - 1));
        }
    }
}
