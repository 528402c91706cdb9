using Whale.Gguf;
using Whale.Kernels;

namespace Whale.Models;

/// <summary>Hyper-parameters of a decoder-only model, read from GGUF metadata (<c>{arch}.*</c> keys).</summary>
public sealed record ModelConfig
{
    /// <summary>Architectures this build runs.</summary>
    public static IReadOnlyList<string> SupportedArchitectures { get; } = ["llama", "qwen2", "deepseek2"];

    public required string Architecture { get; init; }
    public required int NumLayers { get; init; }
    public required int EmbedDim { get; init; }
    public required int FfnDim { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int RopeDim { get; init; }
    public required RopeMode RopeMode { get; init; }
    public required float RopeBase { get; init; }
    /// <summary>1 / rope.scaling.factor for linear/yarn scaling, 1 otherwise.</summary>
    public float RopeFreqScale { get; init; } = 1f;
    public required float RmsEps { get; init; }
    public required int ContextLength { get; init; }
    public required int VocabSize { get; init; }
    /// <summary>Softmax scale of attention scores (attention.scale, else 1/sqrt(head dim)).</summary>
    public required float AttentionScale { get; init; }

    /// <summary>KV values per token per layer (K or V).</summary>
    public int KvDim => NumKvHeads * HeadDim;

    /// <summary>Reads the config of a file; throws <see cref="NotSupportedException"/> for other architectures.</summary>
    public static ModelConfig FromGguf(GgufFile file)
    {
        string arch = file.Architecture ?? throw new GgufException($"{file.Path}: missing metadata key 'general.architecture'");
        if (!SupportedArchitectures.Contains(arch))
            throw new NotSupportedException($"{file.Path}: unsupported architecture '{arch}' (supported: {string.Join(", ", SupportedArchitectures)})");
        if (arch == "deepseek2") return DeepSeek2.DeepSeek2Config.FromGguf(file).ToModelConfig();
        string p = arch + ".";
        int Req(string key)
        {
            var v = file.GetValue(p + key).AsInt64();
            if (v <= 0 || v > int.MaxValue) throw new GgufException($"{file.Path}: metadata '{p}{key}' = {v} is out of range");
            return (int)v;
        }
        int embed = Req("embedding_length");
        int heads = Req("attention.head_count");
        int kvHeads = file.GetInt32(p + "attention.head_count_kv", heads);
        if (kvHeads <= 0 || heads % kvHeads != 0)
            throw new GgufException($"{file.Path}: head_count {heads} is not a multiple of head_count_kv {kvHeads}");
        int headDim = file.GetInt32(p + "attention.key_length", embed / heads);
        int ropeDim = file.GetInt32(p + "rope.dimension_count", headDim);
        if (ropeDim > headDim || ropeDim % 2 != 0)
            throw new GgufException($"{file.Path}: rope.dimension_count {ropeDim} does not fit head dimension {headDim}");
        string scaling = file.GetString(p + "rope.scaling.type", "none") ?? "none";
        float factor = file.GetSingle(p + "rope.scaling.factor", 0f);
        float freqScale = scaling is "linear" or "yarn" && factor > 0 ? 1f / factor : 1f;
        if (scaling == "yarn")
            throw new NotSupportedException($"{file.Path}: YaRN rope scaling is not supported for {arch} yet");
        float scale = file.GetSingle(p + "attention.scale", 0f);
        int vocab = file.TryGetValue("tokenizer.ggml.tokens", out var tokens) ? tokens.ArrayLength : file.GetInt32(p + "vocab_size", 0);
        if (vocab <= 0) throw new GgufException($"{file.Path}: no vocabulary (tokenizer.ggml.tokens)");
        return new ModelConfig
        {
            Architecture = arch,
            NumLayers = Req("block_count"),
            EmbedDim = embed,
            FfnDim = Req("feed_forward_length"),
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            RopeDim = ropeDim,
            RopeMode = arch == "qwen2" ? RopeMode.Neox : RopeMode.Norm,
            RopeBase = file.GetSingle(p + "rope.freq_base", 10000f),
            RopeFreqScale = freqScale,
            RmsEps = file.GetSingle(p + "attention.layer_norm_rms_epsilon", 1e-5f),
            ContextLength = file.GetInt32(p + "context_length", 4096),
            VocabSize = vocab,
            AttentionScale = scale != 0 ? scale : 1f / MathF.Sqrt(headDim),
        };
    }
}
