using System.CommandLine;
using Whale.Gguf;
using Whale.Models.Synthetic;

namespace Whale.Cli.Commands;

/// <summary>
/// <c>whale synth</c>: writes a synthetic GGUF model (seeded random weights in one tensor type) with a real
/// vocabulary from the tokenizer files in shared/tokenizers, for tests and benchmarks.
/// </summary>
internal static class SynthCommand
{
    public static Command Create(CliIo io)
    {
        var arch = new Option<string>("--arch") { Description = "architecture: llama, qwen2 or deepseek2", DefaultValueFactory = _ => "qwen2" };
        var preset = new Option<string>("--preset") { Description = $"shape: {string.Join(", ", SyntheticShape.Presets.Keys)}; deepseek2: {string.Join(", ", SyntheticDeepSeek2Shape.Presets.Keys)} (default v3-tiny)", DefaultValueFactory = _ => "tiny" };
        var type = new Option<string>("--type") { Description = "tensor type: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K and Q4_K_M (llama.cpp's mix of Q4_K and Q6_K)", DefaultValueFactory = _ => "F32" };
        var legacyMla = new Option<bool>("--legacy-mla") { Description = "deepseek2: write the legacy layout (attn_kv_b) instead of attn_k_b/attn_v_b" };
        var mtp = new Option<bool>("--mtp") { Description = "deepseek2: add a multi-token-prediction block (nextn tensors)" };
        var vocab = new Option<string>("--vocab") { Description = $"vocabulary: {string.Join(", ", SyntheticVocab.Sources.Keys)}", DefaultValueFactory = _ => "deepseek-r1-distill-qwen" };
        var vocabSize = new Option<int>("--vocab-size") { Description = "keep only the first N ordinary tokens (plus the special ones); 0 = all", DefaultValueFactory = _ => 0 };
        var layers = new Option<int?>("--layers") { Description = "override the preset's layer count" };
        var seed = new Option<ulong>("--seed") { Description = "random seed", DefaultValueFactory = _ => 42UL };
        var tokenizers = new Option<string?>("--tokenizers") { Description = "folder with the tokenizer files (default: ../shared/tokenizers or $WHALE_TOKENIZERS)" };
        var output = new Option<string>("--output", "-o") { Description = "output GGUF path", Required = true };
        var cmd = new Command("synth", "Write a synthetic GGUF model (seeded random weights, real vocabulary)")
        {
            arch, preset, type, vocab, vocabSize, layers, seed, tokenizers, output, legacyMla, mtp,
        };
        cmd.SetAction(r =>
        {
            bool deepseek = r.GetValue(arch) == "deepseek2";
            string typeName = r.GetValue(type)!;
            bool mixed = typeName.EndsWith("_M", StringComparison.OrdinalIgnoreCase);
            if (mixed) typeName = typeName[..^2];
            if (!Enum.TryParse<GgmlType>(typeName, ignoreCase: true, out var t) || !GgmlTypeTraits.IsComputeSupported(t))
                throw new ArgumentException($"unsupported --type '{r.GetValue(type)}'");
            string dir = r.GetValue(tokenizers) ?? FindTokenizers()
                ?? throw new ArgumentException("tokenizer files not found: pass --tokenizers DIR or set WHALE_TOKENIZERS");
            var vocabResult = r.GetResult(vocab);
            var v = SyntheticVocab.Load(dir, deepseek && (vocabResult is null || vocabResult.Implicit) ? "deepseek-v3" : r.GetValue(vocab)!);
            int keep = r.GetValue(vocabSize);
            if (keep > 0) v = SyntheticVocab.Truncate(v, keep);
            if (deepseek)
            {
                var presetResult = r.GetResult(preset);
                string name = presetResult is null || presetResult.Implicit ? "v3-tiny" : r.GetValue(preset)!;
                string dsPath = SyntheticDeepSeek2Writer.Write(r.GetValue(output)!, SyntheticDeepSeek2Shape.Get(name), t, v,
                    r.GetValue(seed), r.GetValue(layers), r.GetValue(legacyMla), mixed, r.GetValue(mtp));
                io.Err.WriteLine($"wrote {dsPath} ({new FileInfo(dsPath).Length:N0} bytes, {v.Tokens.Length} tokens)");
                return 0;
            }
            if (r.GetValue(mtp)) throw new ArgumentException("--mtp needs --arch deepseek2");
            string path = SyntheticModelWriter.Write(r.GetValue(output)!, r.GetValue(arch)!, SyntheticShape.Get(r.GetValue(preset)!), t, v, r.GetValue(seed), r.GetValue(layers), mixed);
            io.Err.WriteLine($"wrote {path} ({new FileInfo(path).Length:N0} bytes, {v.Tokens.Length} tokens)");
            return 0;
        });
        return cmd;
    }

    private static string? FindTokenizers()
    {
        var env = Environment.GetEnvironmentVariable("WHALE_TOKENIZERS");
        if (!string.IsNullOrEmpty(env)) return env;
        for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            var candidate = Path.Combine(dir, "shared", "tokenizers");
            if (Directory.Exists(candidate)) return candidate;
            candidate = Path.Combine(dir, "..", "shared", "tokenizers");
            if (File.Exists(Path.Combine(dir, "Whale.sln")) && Directory.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        return null;
    }
}
