using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Whale.Training.Model;

/// <summary>RMSNorm as ggml computes it: x / sqrt(mean(x^2) + eps), times the weight (no bias).</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly float _eps;
#pragma warning disable IDE1006 // field names are the parameter names
    public readonly Parameter weight;
#pragma warning restore IDE1006

    public RmsNorm(long dim, float eps) : base(nameof(RmsNorm))
    {
        _eps = eps;
        weight = Init.Ones(dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => x * rsqrt(x.pow(2).mean([-1], keepdim: true) + _eps) * weight;
}
