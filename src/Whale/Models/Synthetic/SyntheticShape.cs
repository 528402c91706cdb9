namespace Whale.Models.Synthetic;

/// <summary>Dimensions of a synthetic llama-family model.</summary>
public sealed record SyntheticShape(int Layers, int Embed, int Heads, int KvHeads, int Ffn, int Context)
{
    /// <summary>Named presets: tiny and small for tests, real R1-Distill shapes for benchmarks.</summary>
    public static IReadOnlyDictionary<string, SyntheticShape> Presets { get; } = new Dictionary<string, SyntheticShape>(StringComparer.Ordinal)
    {
        ["tiny"] = new(2, 256, 4, 2, 512, 2048),
        ["small"] = new(4, 512, 8, 2, 1024, 4096),
        ["r1-distill-qwen-1.5b"] = new(28, 1536, 12, 2, 8960, 131072),
        ["r1-distill-qwen-7b"] = new(28, 3584, 28, 4, 18944, 131072),
        ["r1-distill-llama-8b"] = new(32, 4096, 32, 8, 14336, 131072),
    };

    public int HeadDim => Embed / Heads;

    public static SyntheticShape Get(string name) => Presets.TryGetValue(name, out var s) ? s
        : throw new ArgumentException($"unknown shape preset '{name}' (known: {string.Join(", ", Presets.Keys)})");
}
