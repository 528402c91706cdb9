using Whale.Gguf;
using Whale.Kernels;

namespace Whale.Models.DeepSeek2;

/// <summary>
/// The first multi-token-prediction block of a deepseek2 file in llama.cpp's nextn layout (blk.{n}.*, n = the main
/// decoder's layer count): an ordinary decoder block plus <c>nextn.eh_proj</c> [E, 2E], <c>nextn.enorm</c>,
/// <c>nextn.hnorm</c> and the optional <c>nextn.shared_head_norm</c>, <c>nextn.embed_tokens</c> and
/// <c>nextn.shared_head_head</c> (absent: the main model's output_norm, token_embd and output are shared).
/// </summary>
internal sealed class DeepSeek2MtpWeights
{
    public required DeepSeek2Layer Block { get; init; }
    public required WeightMatrix EhProj { get; init; }            // [E, 2E]: [enorm(emb) | hnorm(h)] -> E
    public required float[] ENorm { get; init; }                  // [E]
    public required float[] HNorm { get; init; }                  // [E]
    public required float[] HeadNorm { get; init; }               // [E] shared_head_norm (or output_norm)
    public required WeightMatrix Embed { get; init; }             // [V, E] embed_tokens (or token_embd)
    public required WeightMatrix Head { get; init; }              // [V, E] shared_head_head (or output)

    /// <summary>
    /// The MTP block when the file declares one (nextn_predict_layers &gt; 0) and carries its <c>nextn.eh_proj</c>;
    /// null otherwise. A declared block with missing or misshapen tensors is an error naming the tensor.
    /// Files with several MTP blocks use the first (depth-1 drafting).
    /// </summary>
    public static DeepSeek2MtpWeights? TryLoad(DeepSeek2WeightLoader loader, DeepSeek2Config c, WeightMatrix tokenEmbd, WeightMatrix output, float[] outputNorm)
    {
        if (c.NextNLayers <= 0) return null;
        var w = loader.Loader;
        int E = c.EmbedDim, V = c.VocabSize;
        string p = $"blk.{c.NumLayers}.nextn.";
        var eh = w.TryMatrix(p + "eh_proj.weight", 2 * E, E);
        if (eh is null) return null;
        return new DeepSeek2MtpWeights
        {
            Block = loader.Layer(c.NumLayers),
            EhProj = eh,
            ENorm = w.Vector(p + "enorm.weight", E),
            HNorm = w.Vector(p + "hnorm.weight", E),
            HeadNorm = w.TryVector(p + "shared_head_norm.weight", E) ?? outputNorm,
            Embed = w.TryMatrix(p + "embed_tokens.weight", E, V) ?? tokenEmbd,
            Head = w.TryMatrix(p + "shared_head_head.weight", E, V) ?? output,
        };
    }
}
