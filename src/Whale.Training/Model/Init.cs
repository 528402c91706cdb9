using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Whale.Training.Model;

/// <summary>Parameter factories: normal(0, std) from torch's seeded global generator, ones for norms, zeros for biases.</summary>
internal static class Init
{
    public static Parameter Normal(float std, params long[] shape) =>
        new Parameter(randn(shape, dtype: float32).mul_(std), requires_grad: true);

    /// <summary>A [out, in] matrix with std 1/sqrt(in) times <paramref name="gain"/>.</summary>
    public static Parameter Linear(long outDim, long inDim, float gain = 1f) => Normal(gain / MathF.Sqrt(inDim), outDim, inDim);

    public static Parameter Ones(long n) => new Parameter(ones(n, dtype: float32), requires_grad: true);

    public static Parameter Zeros(long n) => new Parameter(zeros(n, dtype: float32), requires_grad: true);
}
