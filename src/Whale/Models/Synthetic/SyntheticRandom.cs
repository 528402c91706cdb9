namespace Whale.Models.Synthetic;

/// <summary>Seeded normal random numbers (splitmix64 + Box-Muller): the same values on every platform and runtime.</summary>
internal sealed class SyntheticRandom(ulong seed)
{
    private ulong _state = seed;
    private float? _spare;

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in (0, 1].</summary>
    public double NextDouble() => ((NextUInt64() >> 11) + 1) * (1.0 / (1UL << 53));

    public float NextNormal()
    {
        if (_spare is { } s) { _spare = null; return s; }
        double u1 = NextDouble(), u2 = NextDouble();
        double r = Math.Sqrt(-2 * Math.Log(u1));
        _spare = (float)(r * Math.Sin(2 * Math.PI * u2));
        return (float)(r * Math.Cos(2 * Math.PI * u2));
    }

    public void Fill(Span<float> dst, float std, float mean = 0)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = mean + std * NextNormal();
    }
}
