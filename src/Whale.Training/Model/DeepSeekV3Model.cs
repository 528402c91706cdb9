using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whale.Training.Model;

/// <summary>
/// The trained network: token embedding, <see cref="TinyDeepSeekConfig.LeadingDense"/> dense blocks then MoE blocks,
/// final RMSNorm, untied output head, and the optional MTP module. Mirrors the deepseek2 forward pass of Whale and
/// llama.cpp (no embedding scale, NORM rope on the rope dims only, softmax scale 1/sqrt(Dn+Dr)).
/// </summary>
public sealed class DeepSeekV3Model : nn.Module
{
#pragma warning disable IDE1006 // field names are the parameter names
    public readonly Parameter token_embd;  // [V, E]
    public readonly ModuleList<DecoderBlock> blocks;
    public readonly RmsNorm output_norm;
    public readonly Parameter output;      // [V, E]
    public readonly MtpModule? mtp;
#pragma warning restore IDE1006
    private readonly NormRope _rope;

    public DeepSeekV3Model(TinyDeepSeekConfig c) : base(nameof(DeepSeekV3Model))
    {
        Config = c;
        token_embd = Init.Normal(1f, c.VocabSize, c.Embed);
        blocks = new ModuleList<DecoderBlock>();
        for (int l = 0; l < c.Layers; l++) blocks.Add(new DecoderBlock(c, dense: l < c.LeadingDense));
        output_norm = new RmsNorm(c.Embed, c.RmsEps);
        output = Init.Linear(c.VocabSize, c.Embed);
        if (c.NextN > 0) mtp = new MtpModule(c);
        _rope = new NormRope(c.QkRope, c.RopeBase, c.Context + 1);
        RegisterComponents();
    }

    public TinyDeepSeekConfig Config { get; }

    /// <summary>tokens [B, T] -> logits [B, T, V] and the final-normed hidden state [B, T, E].</summary>
    public (Tensor Logits, Tensor Hidden) Forward(Tensor tokens) => Forward(tokens, null);

    /// <summary>As <see cref="Forward(Tensor)"/>, continuing after the positions held by <paramref name="caches"/> (one per block).</summary>
    public (Tensor Logits, Tensor Hidden) Forward(Tensor tokens, IReadOnlyList<LayerCache>? caches)
    {
        var x = token_embd.index_select(0, tokens.flatten()).view(tokens.shape[0], tokens.shape[1], Config.Embed);
        int offset = caches is null ? 0 : caches[0].Length;
        for (int l = 0; l < blocks.Count; l++) x = blocks[l].Forward(x, _rope, offset, caches?[l]);
        var h = output_norm.forward(x);
        return (F.linear(h, output), h);
    }

    /// <summary>Logits [B, T-1, V] of the MTP head: position i predicts token i+2.</summary>
    public Tensor ForwardMtp(Tensor tokens, Tensor hidden)
    {
        if (mtp is null) throw new InvalidOperationException("the model has no MTP module");
        long t = tokens.shape[1];
        var next = tokens.narrow(1, 1, t - 1);
        var emb = token_embd.index_select(0, next.flatten()).view(next.shape[0], t - 1, Config.Embed);
        return F.linear(mtp.Forward(hidden.narrow(1, 0, t - 1), emb, _rope), output);
    }

    /// <summary>Every MoE layer, main blocks first, then the MTP block.</summary>
    public IEnumerable<MoE> MoeLayers()
    {
        foreach (var b in blocks) if (b.moe is not null) yield return b.moe;
        if (mtp?.block.moe is { } m) yield return m;
    }
}
