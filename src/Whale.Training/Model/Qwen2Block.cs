using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Whale.Training.Model;

/// <summary>One qwen2 block: x + attention(rmsnorm x), then + SwiGLU(rmsnorm x).</summary>
public sealed class Qwen2Block : nn.Module
{
#pragma warning disable IDE1006 // field names are the parameter names
    public readonly RmsNorm attn_norm, ffn_norm;
    public readonly Qwen2Attention attn;
    public readonly SwiGlu ffn;
#pragma warning restore IDE1006

    public Qwen2Block(TinyQwen2Config c) : base(nameof(Qwen2Block))
    {
        attn_norm = new RmsNorm(c.Embed, c.RmsEps);
        attn = new Qwen2Attention(c);
        ffn_norm = new RmsNorm(c.Embed, c.RmsEps);
        ffn = new SwiGlu(c.Embed, c.Ffn);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, NeoxRope rope)
    {
        var x1 = x + attn.Forward(attn_norm.forward(x), rope);
        return x1 + ffn.forward(ffn_norm.forward(x1));
    }
}
