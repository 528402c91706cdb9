namespace Whale.Training.Model;

/// <summary>
/// Dimensions of the DeepSeek-V3-architecture model trained here (the GGUF <c>deepseek2</c> hyper-parameters).
/// Letters used in shape comments: B batch, T time, E embed, H heads, Q q_lora rank, C kv_lora rank, Dn/Dr/Dv
/// nope/rope/value head dims, X routed experts, K experts per token, F dense FFN, Fe expert FFN, V vocab.
/// </summary>
public sealed record TinyDeepSeekConfig
{
    public int VocabSize { get; init; }
    public int Layers { get; init; } = 3;
    public int Embed { get; init; } = 96;
    public int Heads { get; init; } = 4;
    /// <summary>0 = direct attn_q (V2-Lite style), else q_a/q_a_norm/q_b.</summary>
    public int QLoraRank { get; init; } = 48;
    public int KvLoraRank { get; init; } = 48;
    public int QkNope { get; init; } = 16;
    public int QkRope { get; init; } = 8;
    public int VHead { get; init; } = 16;
    public int Ffn { get; init; } = 192;
    public int ExpertFfn { get; init; } = 48;
    public int Experts { get; init; } = 6;
    public int ExpertsUsed { get; init; } = 2;
    public int SharedExperts { get; init; } = 1;
    public int LeadingDense { get; init; } = 1;
    /// <summary>Expert groups for group-limited routing (0 or 1 = off).</summary>
    public int ExpertGroups { get; init; } = 3;
    public int ExpertGroupsUsed { get; init; } = 2;
    public bool WeightsNorm { get; init; } = true;
    public float WeightsScale { get; init; } = 2.5f;
    public float RmsEps { get; init; } = 1e-6f;
    public float RopeBase { get; init; } = 10000f;
    public int Context { get; init; } = 1024;
    /// <summary>Multi-token prediction depth (0 or 1 here).</summary>
    public int NextN { get; init; } = 1;

    public int QkHead => QkNope + QkRope;

    /// <summary>Softmax scale 1/sqrt(Dn + Dr) (no YaRN: the model's context is short).</summary>
    public float KqScale => 1f / MathF.Sqrt(QkHead);

    /// <summary>The recipe's model (about 0.5M parameters with the MTP block).</summary>
    public static TinyDeepSeekConfig Tiny(int vocab) => new() { VocabSize = vocab };

    /// <summary>A smaller model for the smoke recipe and tests.</summary>
    public static TinyDeepSeekConfig Smoke(int vocab) => new()
    {
        VocabSize = vocab, Layers = 2, Embed = 64, Heads = 2, QLoraRank = 32, KvLoraRank = 32, QkNope = 16, QkRope = 8,
        VHead = 16, Ffn = 128, ExpertFfn = 32, Experts = 4, ExpertsUsed = 2, ExpertGroups = 2, ExpertGroupsUsed = 1,
    };
}
