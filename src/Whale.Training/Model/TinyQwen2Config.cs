namespace Whale.Training.Model;

/// <summary>
/// Dimensions of the dense <c>qwen2</c>-architecture student (R1-Distill in miniature). Letters used in shape comments:
/// B batch, T time, E embed, H heads, Hkv key/value heads, D head dim (E / H), F FFN, V vocab.
/// </summary>
public sealed record TinyQwen2Config
{
    public int VocabSize { get; init; }
    public int Layers { get; init; } = 3;
    public int Embed { get; init; } = 96;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 2;
    public int Ffn { get; init; } = 192;
    public float RmsEps { get; init; } = 1e-6f;
    public float RopeBase { get; init; } = 10000f;
    public int Context { get; init; } = 1024;
    /// <summary>True: no output.weight, the head reuses token_embd (Whale and llama.cpp both fall back to it).</summary>
    public bool TiedEmbeddings { get; init; }

    /// <summary>Head dimension; qwen2 GGUFs fix attn_q at {E, E}, so H * D = E.</summary>
    public int HeadDim => Embed / Heads;

    /// <summary>Softmax scale 1/sqrt(D) (what both engines use when attention.scale is absent).</summary>
    public float KqScale => 1f / MathF.Sqrt(HeadDim);

    /// <summary>Throws when the shape cannot be a qwen2 GGUF (H*D = E, H a multiple of Hkv, D even for RoPE).</summary>
    public void Validate()
    {
        if (VocabSize <= 0 || Layers <= 0 || Embed <= 0 || Ffn <= 0 || Context <= 0)
            throw new ArgumentException($"invalid qwen2 student config {this}");
        if (Heads <= 0 || Embed % Heads != 0) throw new ArgumentException($"embed {Embed} is not a multiple of heads {Heads}");
        if (KvHeads <= 0 || Heads % KvHeads != 0) throw new ArgumentException($"heads {Heads} is not a multiple of kv heads {KvHeads}");
        if (HeadDim % 2 != 0) throw new ArgumentException($"head dimension {HeadDim} must be even (RoPE rotates pairs)");
    }

    /// <summary>The recipe's student: 3 dense layers, E 96, 4 heads over 2 KV heads, FFN 192 (about 0.33M parameters).</summary>
    public static TinyQwen2Config Tiny(int vocab) => new() { VocabSize = vocab };

    /// <summary>A smaller student for the smoke recipe and tests.</summary>
    public static TinyQwen2Config Smoke(int vocab) => new() { VocabSize = vocab, Layers = 2, Embed = 64, Heads = 4, KvHeads = 2, Ffn = 128 };
}
