using Whale.Gguf;
using Whale.Kernels;

namespace Whale.Models.DeepSeek2;

/// <summary>
/// Hyper-parameters of a <c>deepseek2</c> GGUF (DeepSeek-V2, V2-Lite, V3, R1), read from the <c>deepseek2.*</c> keys
/// with llama.cpp's defaults. Both file generations are understood: current files (split <c>attn_k_b</c>/<c>attn_v_b</c>,
/// <c>key_length_mla</c>/<c>value_length_mla</c> keys, head_count_kv 1) and legacy ones (<c>attn_kv_b</c>).
/// </summary>
public sealed record DeepSeek2Config
{
    /// <summary>Decoder blocks (block_count minus nextn_predict_layers).</summary>
    public required int NumLayers { get; init; }
    /// <summary>Multi-token-prediction blocks after the decoder blocks (nextn_predict_layers; blk.{NumLayers}.* is the first).</summary>
    public int NextNLayers { get; init; }
    /// <summary>Model width (n_embd).</summary>
    public required int EmbedDim { get; init; }
    /// <summary>FFN width of the leading dense layers.</summary>
    public required int FfnDim { get; init; }
    /// <summary>FFN width of one routed expert and of one shared expert.</summary>
    public required int ExpertFfnDim { get; init; }
    /// <summary>Attention heads.</summary>
    public required int NumHeads { get; init; }
    /// <summary>Rank of the query compression (q_a/q_b); 0 = direct <c>attn_q</c> (V2-Lite).</summary>
    public required int QLoraRank { get; init; }
    /// <summary>Rank of the compressed KV latent (C, 512 for real models).</summary>
    public required int KvLoraRank { get; init; }
    /// <summary>Non-rotated part of a query/key head (Dn, 128).</summary>
    public required int QkNopeDim { get; init; }
    /// <summary>Rotated part of a query/key head, also the shared rope key (Dr, 64; rope.dimension_count).</summary>
    public required int QkRopeDim { get; init; }
    /// <summary>Value head dimension (Dv, 128).</summary>
    public required int VHeadDim { get; init; }
    /// <summary>True for current files (attn_k_b/attn_v_b), false for legacy files (attn_kv_b, split at load).</summary>
    public required bool SplitKvB { get; init; }
    /// <summary>Leading layers with a dense FFN instead of MoE.</summary>
    public required int LeadingDenseLayers { get; init; }
    /// <summary>Routed experts per MoE layer.</summary>
    public required int ExpertCount { get; init; }
    /// <summary>Experts selected per token.</summary>
    public required int ExpertUsedCount { get; init; }
    /// <summary>Shared experts (their FFN width is ExpertFfnDim x this).</summary>
    public required int SharedExpertCount { get; init; }
    /// <summary>Expert groups for group-limited routing (0 or 1 = no grouping).</summary>
    public int ExpertGroupCount { get; init; }
    /// <summary>Groups kept per token when grouping.</summary>
    public int ExpertGroupUsedCount { get; init; }
    /// <summary>Factor on the routing weights (routed_scaling_factor); 0 or 1 = none.</summary>
    public float ExpertWeightsScale { get; init; }
    /// <summary>Normalize the selected weights to sum 1 before scaling.</summary>
    public bool ExpertWeightsNorm { get; init; }
    /// <summary>Gating function of the router.</summary>
    public ExpertGating Gating { get; init; } = ExpertGating.Softmax;
    /// <summary>RMSNorm epsilon.</summary>
    public required float RmsEps { get; init; }
    /// <summary>rope.freq_base.</summary>
    public required float RopeBase { get; init; }
    /// <summary>1 / rope.scaling.factor (1 without scaling).</summary>
    public float RopeFreqScale { get; init; } = 1f;
    /// <summary>True when rope.scaling.type is "yarn".</summary>
    public bool Yarn { get; init; }
    /// <summary>YaRN original context (rope.scaling.original_context_length, default context_length).</summary>
    public required int RopeOrigContext { get; init; }
    /// <summary>rope.scaling.yarn_log_multiplier as llama.cpp uses it: the stored value divided by 0.1 (= mscale_all_dim).</summary>
    public float YarnLogMultiplier { get; init; }
    /// <summary>Training context length.</summary>
    public required int ContextLength { get; init; }
    /// <summary>Vocabulary size (entries of tokenizer.ggml.tokens).</summary>
    public required int VocabSize { get; init; }

    /// <summary>Query/key head dimension of the uncompressed attention (Dn + Dr, 192).</summary>
    public int QkHeadDim => QkNopeDim + QkRopeDim;
    /// <summary>Values cached per token per layer: normalized latent then rotated rope key (C + Dr, 576).</summary>
    public int CacheRowDim => KvLoraRank + QkRopeDim;
    /// <summary>True when the routed experts are chosen within the best groups only.</summary>
    public bool GroupLimitedRouting => ExpertGroupCount > 1;

    /// <summary>
    /// Magnitude factor handed to the rope (llama.cpp's context yarn_attn_factor). Under YaRN with a log multiplier it
    /// is 1/(1 + 0.1 ln f), which cancels the factor ggml's rope applies itself, so the rotated parts keep unit
    /// magnitude; without a multiplier it is get_mscale(f, 1)/(1 + 0.1 ln f). 1 without YaRN.
    /// </summary>
    public float RopeAttnFactor { get; init; } = 1f;

    /// <summary>
    /// Softmax scale: mscale^2 / sqrt(Dn + Dr) with mscale = 1 + 0.1 * YarnLogMultiplier * ln(1/freq_scale) (the key
    /// dimension is 192 even in the absorbed 576-wide path). 1/sqrt(192) without YaRN.
    /// </summary>
    public float KqScale
    {
        get
        {
            float attnFactorOrg = RopeAttnFactor * (1.0f + 0.1f * MathF.Log(1.0f / RopeFreqScale));
            float mscale = attnFactorOrg * (1.0f + 0.1f * YarnLogMultiplier * MathF.Log(1.0f / RopeFreqScale));
            return mscale * mscale / MathF.Sqrt(QkHeadDim);
        }
    }

    /// <summary>KV-cache bytes per token in the F16 latent cache: layers x (C + Dr) x 2.</summary>
    public long KvBytesPerToken => 2L * NumLayers * CacheRowDim;

    /// <summary>What an F16 cache of full multi-head K (Dn + Dr) and V (Dv) would take per token.</summary>
    public long MultiHeadKvBytesPerToken => 2L * NumLayers * NumHeads * (QkHeadDim + VHeadDim);

    /// <summary>The rope of this model (NORM pairing on Dr dims, YaRN when configured).</summary>
    public Rope CreateRope() => new(QkRopeDim, RopeMode.Norm, RopeBase, null, RopeFreqScale,
        Yarn ? 1f : 0f, RopeAttnFactor, RopeOrigContext);

    /// <summary>The generic view used by the engine: one "KV head" of CacheRowDim values, AttentionScale = KqScale.</summary>
    public ModelConfig ToModelConfig() => new()
    {
        Architecture = "deepseek2",
        NumLayers = NumLayers,
        EmbedDim = EmbedDim,
        FfnDim = FfnDim,
        NumHeads = NumHeads,
        NumKvHeads = 1,
        HeadDim = CacheRowDim,
        RopeDim = QkRopeDim,
        RopeMode = RopeMode.Norm,
        RopeBase = RopeBase,
        RopeFreqScale = RopeFreqScale,
        RmsEps = RmsEps,
        ContextLength = ContextLength,
        VocabSize = VocabSize,
        AttentionScale = KqScale,
    };

    /// <summary>Reads the config; throws <see cref="GgufException"/> naming the key for missing or inconsistent values.</summary>
    public static DeepSeek2Config FromGguf(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string arch = file.Architecture ?? throw new GgufException($"{file.Path}: missing metadata key 'general.architecture'");
        if (arch != "deepseek2") throw new NotSupportedException($"{file.Path}: architecture '{arch}' is not deepseek2");
        const string p = "deepseek2.";
        int Req(string key)
        {
            var v = file.GetValue(p + key).AsInt64();
            if (v <= 0 || v > int.MaxValue) throw new GgufException($"{file.Path}: metadata '{p}{key}' = {v} is out of range");
            return (int)v;
        }
        int Opt(string key, int fallback)
        {
            int v = file.GetInt32(p + key, fallback);
            if (v < 0) throw new GgufException($"{file.Path}: metadata '{p}{key}' = {v} is negative");
            return v;
        }
        GgufException Bad(string what) => new($"{file.Path}: {what}");

        int blocks = Req("block_count");
        int nextn = Opt("nextn_predict_layers", 0);
        int layers = blocks - nextn;
        if (layers <= 0) throw Bad($"block_count {blocks} leaves no layers after nextn_predict_layers {nextn}");
        int embed = Req("embedding_length");
        int heads = Req("attention.head_count");
        int ropeDim = Req("rope.dimension_count");
        int kvLora = Req("attention.kv_lora_rank");
        int vocab = file.TryGetValue("tokenizer.ggml.tokens", out var tokens) ? tokens.ArrayLength : 0;
        if (vocab <= 0) throw Bad("no vocabulary (tokenizer.ggml.tokens)");
        // llama.cpp's "Lite" heuristic: V2-Lite shapes ignore q_lora_rank (direct attn_q)
        bool lite = blocks is 26 or 27 || (blocks == 48 && vocab == 128256);
        int qLora = lite ? 0 : Opt("attention.q_lora_rank", 0);

        int keyMla = Opt("attention.key_length_mla", 0), valueMla = Opt("attention.value_length_mla", 0);
        bool split = keyMla > 0 && valueMla > 0;
        int keyLength = Opt("attention.key_length", embed / heads), valueLength = Opt("attention.value_length", embed / heads);
        int qkHead = split ? keyMla : keyLength;
        int vHead = split ? valueMla : valueLength;
        if (split && (keyLength != kvLora + ropeDim || valueLength != kvLora))
            throw Bad($"MLA layout expects key_length {kvLora + ropeDim} and value_length {kvLora}, file has {keyLength} and {valueLength}");
        if (ropeDim % 2 != 0 || qkHead <= ropeDim)
            throw Bad($"rope.dimension_count {ropeDim} does not fit the query/key head dimension {qkHead}");

        int experts = Opt("expert_count", 0), used = Opt("expert_used_count", 0);
        int leading = Opt("leading_dense_block_count", 0);
        if (leading < layers && (experts <= 0 || used <= 0 || used > experts))
            throw Bad($"MoE layers need 0 < expert_used_count ({used}) <= expert_count ({experts})");
        int groups = Opt("expert_group_count", 0), groupsUsed = Opt("expert_group_used_count", 0);
        if (groups > 1 && (experts % groups != 0 || groupsUsed <= 0 || groupsUsed >= groups || experts / groups * groupsUsed < used))
            throw Bad($"expert groups: {experts} experts, {groups} groups, {groupsUsed} used groups, {used} used experts do not fit");
        int gating = Opt("expert_gating_func", 0);
        if (gating is not (0 or 1 or 2)) throw Bad($"unknown expert_gating_func {gating}");

        string scaling = file.GetString(p + "rope.scaling.type", "none") ?? "none";
        float factor = file.GetSingle(p + "rope.scaling.factor", 0f);
        bool yarn = scaling == "yarn";
        if (scaling is not ("none" or "yarn" or "linear")) throw new NotSupportedException($"{file.Path}: rope scaling '{scaling}' is not supported for deepseek2");
        float freqScale = scaling is "linear" or "yarn" && factor > 0 ? 1f / factor : 1f;
        int ctx = file.GetInt32(p + "context_length", 4096);
        // [TAG_DEEPSEEK2_YARN_LOG_MUL_FIX]: the converter stores 0.1 x mscale_all_dim; llama.cpp divides by 0.1
        float logMul = file.GetSingle(p + "rope.scaling.yarn_log_multiplier", 0f) / 0.1f;
        float attnFactor = 1f;
        if (yarn)
        {
            float f = 1.0f / freqScale;
            static float GetMscale(float scale, float m) => scale <= 1.0f ? 1.0f : 0.1f * m * MathF.Log(scale) + 1.0f;
            // deepseek2: mscale = mscale_all_dim, so the ratio is 1 whenever a multiplier is present
            attnFactor = logMul != 0f ? GetMscale(f, logMul) / GetMscale(f, logMul) : GetMscale(f, 1.0f);
            attnFactor *= 1.0f / (1.0f + 0.1f * MathF.Log(f));
            attnFactor *= file.GetSingle(p + "rope.scaling.attn_factor", 1f);
        }

        return new DeepSeek2Config
        {
            NumLayers = layers,
            NextNLayers = nextn,
            EmbedDim = embed,
            FfnDim = Opt("feed_forward_length", 0),
            ExpertFfnDim = Opt("expert_feed_forward_length", 0),
            NumHeads = heads,
            QLoraRank = qLora,
            KvLoraRank = kvLora,
            QkNopeDim = qkHead - ropeDim,
            QkRopeDim = ropeDim,
            VHeadDim = vHead,
            SplitKvB = split,
            LeadingDenseLayers = Math.Min(leading, layers),
            ExpertCount = experts,
            ExpertUsedCount = used,
            SharedExpertCount = Opt("expert_shared_count", 0),
            ExpertGroupCount = groups,
            ExpertGroupUsedCount = groupsUsed,
            ExpertWeightsScale = file.GetSingle(p + "expert_weights_scale", 0f),
            ExpertWeightsNorm = file.GetBool(p + "expert_weights_norm", false),
            Gating = gating == 2 ? ExpertGating.Sigmoid : ExpertGating.Softmax,
            RmsEps = file.GetSingle(p + "attention.layer_norm_rms_epsilon", 1e-6f),
            RopeBase = file.GetSingle(p + "rope.freq_base", 10000f),
            RopeFreqScale = freqScale,
            Yarn = yarn,
            RopeOrigContext = file.GetInt32(p + "rope.scaling.original_context_length", ctx),
            YarnLogMultiplier = logMul,
            RopeAttnFactor = attnFactor,
            ContextLength = ctx,
            VocabSize = vocab,
        };
    }
}
