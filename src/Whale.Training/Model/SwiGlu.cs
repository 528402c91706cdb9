using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whale.Training.Model;

/// <summary>SwiGLU FFN: down(silu(gate x) * (up x)); the dense layers and the shared expert.</summary>
public sealed class SwiGlu : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the parameter names
    public readonly Parameter gate, up, down; // gate/up [F, E], down [E, F]
#pragma warning restore IDE1006

    public SwiGlu(int embed, int ffn) : base(nameof(SwiGlu))
    {
        gate = Init.Linear(ffn, embed);
        up = Init.Linear(ffn, embed);
        down = Init.Linear(embed, ffn, 0.5f);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => F.linear(F.silu(F.linear(x, gate)) * F.linear(x, up), down);
}
