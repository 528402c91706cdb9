using Whale.Gguf;
using Whale.Models.Synthetic;
using Whale.Tokenization;

namespace Whale.Tests.TestData;

/// <summary>Synthetic GGUF models written once per test run into a temp folder (seeded, so identical every run).</summary>
internal static class SyntheticModels
{
    private static readonly string Dir = Path.Combine(Path.GetTempPath(), $"whale-tests-{Environment.ProcessId}");
    private static readonly Lazy<VocabData> QwenVocab = new(() => SyntheticVocab.Truncate(
        SyntheticVocab.Load(Path.Combine(TestPaths.Shared, "tokenizers"), "deepseek-r1-distill-qwen"), 4000));
    private static readonly object Gate = new();

    static SyntheticModels()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
    }

    /// <summary>The R1-Distill-Qwen vocabulary cut to 4000 ordinary tokens plus its special tokens.</summary>
    public static VocabData Vocab => QwenVocab.Value;

    /// <summary>Path of a tiny synthetic model of the given architecture and tensor type (written on first use).</summary>
    public static string Get(string arch, GgmlType type, string preset = "tiny", bool mixed = false)
    {
        lock (Gate)
        {
            Directory.CreateDirectory(Dir);
            string path = Path.Combine(Dir, $"{arch}-{preset}-{type}{(mixed ? "_M" : "")}.gguf");
            if (!File.Exists(path))
                SyntheticModelWriter.Write(path, arch, SyntheticShape.Get(preset), type, Vocab, seed: 7, mixed: mixed);
            return path;
        }
    }
}
