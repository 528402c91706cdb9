namespace Whale.Kernels;

/// <summary>
/// Rotary position embedding as ggml_rope_ext computes it: per-pair angles built iteratively in float
/// (theta_{k+1} = theta_k * base^(-2/n_dims)), optional per-pair frequency divisors (llama3 rope_freqs),
/// YaRN interpolation with its ramp and magnitude scale.
/// </summary>
public sealed class Rope
{
    private readonly int _dims;
    private readonly RopeMode _mode;
    private readonly float _thetaScale;
    private readonly float[]? _freqFactors;
    private readonly float _freqScale, _extFactor, _attnFactor;
    private readonly float _corrLow, _corrHigh;

    /// <param name="dims">Rotated dimensions (n_rot); dims past it pass through.</param>
    /// <param name="mode">Pairing.</param>
    /// <param name="freqBase">rope.freq_base.</param>
    /// <param name="freqFactors">Per-pair divisors (rope_freqs tensor), or null.</param>
    /// <param name="freqScale">1 / rope.scaling.factor (1 without scaling).</param>
    /// <param name="extFactor">1 for YaRN, else 0.</param>
    /// <param name="attnFactor">Magnitude factor (YaRN), 1 otherwise.</param>
    /// <param name="origContext">Original training context (YaRN correction dims).</param>
    /// <param name="betaFast">YaRN beta_fast (32).</param>
    /// <param name="betaSlow">YaRN beta_slow (1).</param>
    public Rope(int dims, RopeMode mode, float freqBase, float[]? freqFactors = null, float freqScale = 1f,
        float extFactor = 0f, float attnFactor = 1f, int origContext = 0, float betaFast = 32f, float betaSlow = 1f)
    {
        if (dims <= 0 || dims % 2 != 0) throw new ArgumentException($"rope dimension {dims} must be even and positive");
        if (freqFactors is not null && freqFactors.Length < dims / 2)
            throw new ArgumentException($"rope_freqs has {freqFactors.Length} values, need {dims / 2}");
        _dims = dims; _mode = mode; _freqFactors = freqFactors;
        _thetaScale = MathF.Pow(freqBase, -2.0f / dims);
        _freqScale = freqScale; _extFactor = extFactor; _attnFactor = attnFactor;
        float CorrDim(float rot) => dims * MathF.Log(origContext / (rot * 2 * MathF.PI)) / (2 * MathF.Log(freqBase));
        if (origContext > 0)
        {
            _corrLow = MathF.Max(0, MathF.Floor(CorrDim(betaFast)));
            _corrHigh = MathF.Min(dims - 1, MathF.Ceiling(CorrDim(betaSlow)));
        }
    }

    /// <summary>Rotated dimensions.</summary>
    public int Dims => _dims;

    /// <summary>Fills cos/sin (dims/2 values each) for one position.</summary>
    public void Angles(int position, Span<float> cos, Span<float> sin)
    {
        float theta = position;
        for (int k = 0; k < _dims / 2; k++)
        {
            float ff = _freqFactors is null ? 1f : _freqFactors[k];
            float thetaExtrap = theta / ff;
            float thetaInterp = _freqScale * thetaExtrap;
            float t = thetaInterp, mscale = _attnFactor;
            if (_extFactor != 0f)
            {
                float y = (k - _corrLow) / MathF.Max(0.001f, _corrHigh - _corrLow);
                float rampMix = (1 - MathF.Min(1, MathF.Max(0, y))) * _extFactor;
                t = thetaInterp * (1 - rampMix) + thetaExtrap * rampMix;
                mscale *= 1.0f + 0.1f * MathF.Log(1.0f / _freqScale);
            }
            cos[k] = MathF.Cos(t) * mscale;
            sin[k] = MathF.Sin(t) * mscale;
            theta *= _thetaScale;
        }
    }

    /// <summary>
    /// Rotates <paramref name="heads"/> heads in place. The products are fused the way GCC compiles ggml's
    /// <c>x0*cos - x1*sin</c> / <c>x0*sin + x1*cos</c> (first product fused into the add), for bit-exact parity.
    /// </summary>
    /// <remarks>Rotates <paramref name="heads"/> heads of <paramref name="headDim"/> values in place, given the position's angles.</remarks>
    public void Apply(Span<float> x, int heads, int headDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        int half = _dims / 2;
        for (int h = 0; h < heads; h++)
        {
            var v = x.Slice(h * headDim, headDim);
            if (_mode == RopeMode.Norm)
            {
                for (int k = 0; k < half; k++)
                {
                    float x0 = v[2 * k], x1 = v[2 * k + 1];
                    v[2 * k] = MathF.FusedMultiplyAdd(x0, cos[k], -(x1 * sin[k]));
                    v[2 * k + 1] = MathF.FusedMultiplyAdd(x0, sin[k], x1 * cos[k]);
                }
            }
            else
            {
                for (int k = 0; k < half; k++)
                {
                    float x0 = v[k], x1 = v[k + half];
                    v[k] = MathF.FusedMultiplyAdd(x0, cos[k], -(x1 * sin[k]));
                    v[k + half] = MathF.FusedMultiplyAdd(x0, sin[k], x1 * cos[k]);
                }
            }
        }
    }
}
