using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whale.Training.Model;

/// <summary>
/// DeepSeek-V3 multi-token prediction (depth 1) in llama.cpp's nextn layout: from the main model's final-normed
/// hidden state at i and the embedding of token i+1, u = eh_proj [enorm(emb) ; hnorm(h)], one MoE block at the
/// position of i+1, then shared_head_norm and the main output head predict token i+2.
/// </summary>
public sealed class MtpModule : nn.Module
{
#pragma warning disable IDE1006 // field names are the parameter names
    public readonly RmsNorm enorm, hnorm, shared_head_norm;
    public readonly Parameter eh_proj;   // [E, 2E]
    public readonly DecoderBlock block;
#pragma warning restore IDE1006

    public MtpModule(TinyDeepSeekConfig c) : base(nameof(MtpModule))
    {
        enorm = new RmsNorm(c.Embed, c.RmsEps);
        hnorm = new RmsNorm(c.Embed, c.RmsEps);
        eh_proj = Init.Linear(c.Embed, 2 * c.Embed);
        block = new DecoderBlock(c, dense: false);
        shared_head_norm = new RmsNorm(c.Embed, c.RmsEps);
        RegisterComponents();
    }

    /// <summary>hidden [B, T-1, E] (final-normed, positions 0..T-2), nextEmb [B, T-1, E] (tokens 1..T-1) -> normed [B, T-1, E].</summary>
    public Tensor Forward(Tensor hidden, Tensor nextEmb, NormRope rope)
    {
        var u = F.linear(cat([enorm.forward(nextEmb), hnorm.forward(hidden)], -1), eh_proj);
        return shared_head_norm.forward(block.Forward(u, rope, offset: 1));
    }
}
