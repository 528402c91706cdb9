using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Whale.Training.Model;

/// <summary>One deepseek2 block: x + MLA(norm x), then + FFN(norm x) where FFN is dense SwiGLU or MoE + shared expert.</summary>
public sealed class DecoderBlock : nn.Module
{
#pragma warning disable IDE1006 // field names are the parameter names
    public readonly RmsNorm attn_norm, ffn_norm;
    public readonly Mla attn;
    public readonly SwiGlu? ffn;
    public readonly MoE? moe;
#pragma warning restore IDE1006

    public DecoderBlock(TinyDeepSeekConfig c, bool dense) : base(nameof(DecoderBlock))
    {
        attn_norm = new RmsNorm(c.Embed, c.RmsEps);
        attn = new Mla(c);
        ffn_norm = new RmsNorm(c.Embed, c.RmsEps);
        if (dense) ffn = new SwiGlu(c.Embed, c.Ffn);
        else moe = new MoE(c);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, NormRope rope, int offset = 0, LayerCache? cache = null)
    {
        var x1 = x + attn.Forward(attn_norm.forward(x), rope, offset, cache);
        var h = ffn_norm.forward(x1);
        return x1 + (ffn is not null ? ffn.forward(h) : moe!.Forward(h));
    }
}
