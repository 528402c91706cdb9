using static TorchSharp.torch;

namespace Whale.Training.Model;

/// <summary>
/// RoPE in ggml's NEOX mode (qwen2): the pairs are (x[k], x[k + d/2]), rotated by p * base^(-2k/d). The angle table is
/// built in float the way ggml does (theta_{k+1} = theta_k * base^(-2/d), starting at the position), as in
/// <see cref="NormRope"/>; only the pairing differs.
/// </summary>
public sealed class NeoxRope
{
    private readonly Tensor _cos, _sin; // [P, d/2]

    public NeoxRope(int dims, float freqBase, int maxPositions)
    {
        int half = dims / 2;
        var c = new float[maxPositions * half];
        var s = new float[maxPositions * half];
        float thetaScale = MathF.Pow(freqBase, -2.0f / dims);
        for (int p = 0; p < maxPositions; p++)
        {
            float theta = p;
            for (int k = 0; k < half; k++)
            {
                c[p * half + k] = MathF.Cos(theta);
                s[p * half + k] = MathF.Sin(theta);
                theta *= thetaScale;
            }
        }
        _cos = tensor(c, [maxPositions, half]);
        _sin = tensor(s, [maxPositions, half]);
        MaxPositions = maxPositions;
    }

    public int MaxPositions { get; }

    /// <summary>Rotates x [B, T, H, d] for positions offset..offset+T-1.</summary>
    public Tensor Apply(Tensor x, int offset = 0)
    {
        long t = x.shape[1], d = x.shape[3];
        if (offset + t > MaxPositions) throw new ArgumentException($"positions up to {offset + t} exceed the rope table ({MaxPositions})");
        var cos = _cos.narrow(0, offset, t).view(1, t, 1, d / 2);   // broadcast over batch and heads
        var sin = _sin.narrow(0, offset, t).view(1, t, 1, d / 2);
        var x0 = x.narrow(-1, 0, d / 2);
        var x1 = x.narrow(-1, d / 2, d / 2);
        return cat([x0 * cos - x1 * sin, x0 * sin + x1 * cos], -1);
    }
}
