using Whale.Tokenization;
using Whale.Training.Data;
using Whale.Training.Model;
using static TorchSharp.torch;

namespace Whale.Training.Tests;

/// <summary>Shared small fixtures: the smoke vocabulary and seeded smoke-size models.</summary>
internal static class TestModels
{
    private static readonly Lazy<VocabData> LazyVocab = new(() => TaskTokenizer.Build(60, seed: 5, corpusProblems: 600));

    public static VocabData Vocab => LazyVocab.Value;

    public static Tokenizer Tokenizer => new(Vocab);

    public static DeepSeekV3Model Model(int seed, Func<TinyDeepSeekConfig, TinyDeepSeekConfig>? edit = null)
    {
        set_num_threads(1);
        manual_seed(seed);
        var c = TinyDeepSeekConfig.Smoke(Vocab.Count);
        return new DeepSeekV3Model(edit is null ? c : edit(c));
    }

    public static Qwen2Model Student(int seed, Func<TinyQwen2Config, TinyQwen2Config>? edit = null)
    {
        set_num_threads(1);
        manual_seed(seed);
        var c = TinyQwen2Config.Smoke(Vocab.Count);
        return new Qwen2Model(edit is null ? c : edit(c));
    }

    /// <summary>The committed default model (the teacher of the shipped student).</summary>
    public static string TeacherPath() => Path.Combine(RepoRoot(), "models", "whale-r1-tiny.gguf");

    public static string RepoRoot()
    {
        for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
            if (File.Exists(Path.Combine(dir, "Whale.sln"))) return dir;
        throw new InvalidOperationException("repository root not found");
    }
}
