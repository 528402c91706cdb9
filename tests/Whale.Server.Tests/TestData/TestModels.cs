using Whale.Gguf;
using Whale.Models.Synthetic;

namespace Whale.Server.Tests.TestData;

/// <summary>
/// The models the server tests serve: a tiny synthetic R1-Distill-Qwen-shaped model (random weights, real
/// tokenizer cut to 4000 tokens, R1-Distill template that opens &lt;think&gt;) and the real stories260K llama.
/// </summary>
internal static class TestModels
{
    private static readonly string SharedDir = Environment.GetEnvironmentVariable("WHALE_SHARED") ?? Path.GetFullPath(Path.Combine(RepoRoot(), "..", "shared"));

    private static readonly string Dir = Path.Combine(Path.GetTempPath(), $"whale-server-tests-{Environment.ProcessId}");
    private static readonly Lazy<string> Tiny = new(() =>
    {
        Directory.CreateDirectory(Dir);
        string path = Path.Combine(Dir, "tiny-r1-distill.gguf");
        var vocab = SyntheticVocab.Truncate(SyntheticVocab.Load(Path.Combine(SharedDir, "tokenizers"), "deepseek-r1-distill-qwen"), 4000);
        SyntheticModelWriter.Write(path, "qwen2", SyntheticShape.Get("tiny"), GgmlType.Q8_0, vocab, seed: 7);
        return path;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    static TestModels()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
    }

    public static string Shared => SharedDir;

    /// <summary>Path of the synthetic R1-Distill-shaped model (written on first use).</summary>
    public static string TinyR1 => Tiny.Value;

    /// <summary>Path of Whale's shipped default model (models/whale-r1-tiny.gguf, trained by Whale.Training).</summary>
    public static string Default => Path.Combine(RepoRoot(), "models", "whale-r1-tiny.gguf");

    /// <summary>Path of stories260K (SentencePiece llama, no chat template).</summary>
    public static string Stories => Path.Combine(Shared, "models", "stories260K", "stories260K.gguf");

    private static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Whale.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("Whale.sln not found above " + AppContext.BaseDirectory);
    }
}
