using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whale.Training.Model;

/// <summary>
/// The dense distillation student in the <c>qwen2</c> GGUF architecture (R1-Distill-Qwen's): token embedding (no
/// scale), <see cref="TinyQwen2Config.Layers"/> blocks of GQA attention with q/k/v biases and NEOX RoPE plus a SwiGLU
/// FFN, final RMSNorm, and an output head (its own matrix, or the embedding when tied). Mirrors the qwen2 forward pass
/// of Whale's LlamaModel and llama.cpp's models/qwen2.cpp.
/// </summary>
public sealed class Qwen2Model : nn.Module
{
#pragma warning disable IDE1006 // field names are the parameter names
    public readonly Parameter token_embd;  // [V, E]
    public readonly ModuleList<Qwen2Block> blocks;
    public readonly RmsNorm output_norm;
    public readonly Parameter? output;     // [V, E]; null when tied
#pragma warning restore IDE1006
    private readonly NeoxRope _rope;

    public Qwen2Model(TinyQwen2Config c) : base(nameof(Qwen2Model))
    {
        ArgumentNullException.ThrowIfNull(c);
        c.Validate();
        Config = c;
        // a tied embedding is also the head: a small init keeps the first logits near uniform (pre-norm blocks rescale the input)
        token_embd = Init.Normal(c.TiedEmbeddings ? 1f / MathF.Sqrt(c.Embed) : 1f, c.VocabSize, c.Embed);
        blocks = new ModuleList<Qwen2Block>();
        for (int l = 0; l < c.Layers; l++) blocks.Add(new Qwen2Block(c));
        output_norm = new RmsNorm(c.Embed, c.RmsEps);
        if (!c.TiedEmbeddings) output = Init.Linear(c.VocabSize, c.Embed);
        _rope = new NeoxRope(c.HeadDim, c.RopeBase, c.Context);
        RegisterComponents();
    }

    public TinyQwen2Config Config { get; }

    /// <summary>The output head [V, E]: its own matrix or the embedding.</summary>
    public Parameter Head => output ?? token_embd;

    /// <summary>tokens [B, T] -> logits [B, T, V].</summary>
    public Tensor Forward(Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var x = token_embd.index_select(0, tokens.flatten()).view(tokens.shape[0], tokens.shape[1], Config.Embed);
        foreach (var b in blocks) x = b.Forward(x, _rope);
        return F.linear(output_norm.forward(x), Head);
    }
}
