using Whale.Gguf;
using Whale.Models.Synthetic;
using Whale.Tokenization;

namespace Whale.Tests.Models.DeepSeek2;

/// <summary>
/// Synthetic deepseek2 files, written once per test class on first use into a temp folder (seeded: identical every
/// run): the deepseek-v3 vocabulary cut to 1500 ordinary tokens, tiny V3-like and V2-Lite-like shapes.
/// </summary>
public sealed class DeepSeek2Fixture : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"whale-ds2-{Environment.ProcessId}-{Guid.NewGuid():N}");
    private readonly Lazy<VocabData> _vocab = new(() => SyntheticVocab.Truncate(
        SyntheticVocab.Load(Path.Combine(TestPaths.Shared, "tokenizers"), "deepseek-v3"), 1500));
    private readonly object _gate = new();

    public VocabData Vocab => _vocab.Value;

    /// <summary>Path of a model (written on first use). <paramref name="mixed"/>: Q4_K_M-like mix on top of <paramref name="type"/>.</summary>
    public string Get(string preset, GgmlType type, bool legacy = false, bool mixed = false)
    {
        lock (_gate)
        {
            Directory.CreateDirectory(_dir);
            string path = Path.Combine(_dir, $"{preset}-{type}{(mixed ? "_M" : "")}{(legacy ? "-legacy" : "")}.gguf");
            if (!File.Exists(path))
                SyntheticDeepSeek2Writer.Write(path, SyntheticDeepSeek2Shape.Get(preset), type, Vocab, seed: 11, legacyMla: legacy, mixed: mixed);
            return path;
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
