using static TorchSharp.torch;

namespace Whale.Training.Model;

/// <summary>
/// RoPE in ggml's NORM mode: adjacent pairs (x[2k], x[2k+1]) rotated by p * base^(-2k/d). The angle table is built in
/// float the way ggml does (theta_{k+1} = theta_k * base^(-2/d), starting at the position), so the exported model sees
/// the same rotations in Whale and llama.cpp.
/// </summary>
public sealed class NormRope
{
    private readonly Tensor _cos, _sin; // [P, d/2]

    public NormRope(int dims, float freqBase, int maxPositions)
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
    }

    /// <summary>Rotates x [B, T, ..., d] for positions offset..offset+T-1 along dim 1.</summary>
    public Tensor Apply(Tensor x, int offset = 0)
    {
        long t = x.shape[1];
        long d = x.shape[^1];
        var shape = x.shape;
        // cos/sin [1, T, 1.., d/2] broadcast over batch and any head dims
        var viewShape = new long[shape.Length];
        Array.Fill(viewShape, 1L);
        viewShape[1] = t;
        viewShape[^1] = d / 2;
        var cos = _cos.narrow(0, offset, t).view(viewShape);
        var sin = _sin.narrow(0, offset, t).view(viewShape);
        var pairs = x.view([.. shape[..^1], d / 2, 2]);
        var x0 = pairs.select(-1, 0);
        var x1 = pairs.select(-1, 1);
        var r0 = x0 * cos - x1 * sin;
        var r1 = x0 * sin + x1 * cos;
        return stack([r0, r1], -1).view(shape);
    }
}
