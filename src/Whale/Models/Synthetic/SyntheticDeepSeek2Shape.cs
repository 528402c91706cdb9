using Whale.Models.DeepSeek2;

namespace Whale.Models.Synthetic;

/// <summary>Dimensions and routing settings of a synthetic deepseek2 model.</summary>
/// <param name="Layers">Decoder blocks (avoid 26/27: llama.cpp's "Lite" heuristic ignores q_lora_rank there).</param>
/// <param name="Embed">n_embd.</param>
/// <param name="Heads">Attention heads.</param>
/// <param name="QLoraRank">Query compression rank; 0 = direct attn_q (V2-Lite).</param>
/// <param name="KvLoraRank">KV latent rank C.</param>
/// <param name="QkNope">Non-rotated query/key head part Dn.</param>
/// <param name="QkRope">Rotated part Dr (rope.dimension_count).</param>
/// <param name="VHead">Value head dimension Dv.</param>
/// <param name="Ffn">Dense FFN width.</param>
/// <param name="ExpertFfn">Width of one routed/shared expert.</param>
/// <param name="Experts">Routed experts.</param>
/// <param name="ExpertsUsed">Experts per token.</param>
/// <param name="SharedExperts">Shared experts.</param>
/// <param name="LeadingDense">Leading dense layers.</param>
/// <param name="ExpertGroups">Expert groups (0 = keys not written).</param>
/// <param name="ExpertGroupsUsed">Groups kept per token.</param>
/// <param name="Gating">Router gating function.</param>
/// <param name="SelectionBias">Write exp_probs_b (V3's selection bias).</param>
/// <param name="WeightsNorm">expert_weights_norm.</param>
/// <param name="WeightsScale">expert_weights_scale (0 = key not written).</param>
/// <param name="YarnFactor">rope.scaling.factor with type yarn (0 = no scaling keys).</param>
/// <param name="YarnOrigContext">rope.scaling.original_context_length.</param>
/// <param name="YarnLogMultiplier">rope.scaling.yarn_log_multiplier as stored (0.1 x mscale_all_dim).</param>
/// <param name="Context">context_length.</param>
public sealed record SyntheticDeepSeek2Shape(
    int Layers, int Embed, int Heads, int QLoraRank, int KvLoraRank, int QkNope, int QkRope, int VHead,
    int Ffn, int ExpertFfn, int Experts, int ExpertsUsed, int SharedExperts, int LeadingDense,
    int ExpertGroups, int ExpertGroupsUsed, ExpertGating Gating, bool SelectionBias, bool WeightsNorm, float WeightsScale,
    float YarnFactor, int YarnOrigContext, float YarnLogMultiplier, int Context)
{
    /// <summary>
    /// Named presets: <c>v3-tiny</c> (q_lora, sigmoid gating with selection bias, 4 groups of 4 experts with 2 kept,
    /// a shared expert, one leading dense layer, YaRN), <c>v2-lite-tiny</c> (direct q, softmax gating, 2 shared
    /// experts), and <c>v2-lite</c> with the real DeepSeek-V2-Lite shapes (27 layers; reduce with --layers).
    /// </summary>
    public static IReadOnlyDictionary<string, SyntheticDeepSeek2Shape> Presets { get; } = new Dictionary<string, SyntheticDeepSeek2Shape>(StringComparer.Ordinal)
    {
        ["v3-tiny"] = new(3, 256, 4, 128, 128, 32, 16, 32, 256, 64, 16, 4, 1, 1, 4, 2, ExpertGating.Sigmoid, true, true, 2.5f, 40f, 4096, 0.1f, 4096),
        ["v2-lite-tiny"] = new(3, 256, 4, 0, 128, 32, 16, 32, 256, 64, 8, 2, 2, 1, 0, 0, ExpertGating.Softmax, false, false, 1.0f, 40f, 4096, 0.0707f, 4096),
        ["v2-lite"] = new(27, 2048, 16, 0, 512, 128, 64, 128, 10944, 1408, 64, 6, 2, 1, 0, 0, ExpertGating.Softmax, false, false, 1.0f, 40f, 4096, 0.0707f, 163840),
    };

    /// <summary>A preset by name.</summary>
    public static SyntheticDeepSeek2Shape Get(string name) => Presets.TryGetValue(name, out var s) ? s
        : throw new ArgumentException($"unknown deepseek2 preset '{name}' (known: {string.Join(", ", Presets.Keys)})");
}
