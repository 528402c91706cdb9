using Whale.Gguf;
using Whale.Models.Synthetic;
using Whale.Tokenization;

namespace Whale.Tests.Models.DeepSeek2;

/// <summary>
/// Synthetic deepseek2 files, written on first use into a temp folder shared by the DeepSeek2 test collection (seeded: identical every
/// run): the deepseek-v3 vocabulary cut to 1500 ordinary tokens, tiny V3-like and V2-Lite-like shapes.
/// </summary>
public sealed class DeepSeek2Fixture : IDisposable
{
    /// <summary>Chat prompt of about 150 tokens with this vocabulary; tests use it twice (about 300 tokens).</summary>
    public const string Prompt = "<｜User｜>Why is the sky blue? Explain like I am five, then give the physics: Rayleigh scattering, 1/λ⁴. " +
        "Then compare sunsets on Mars, where dust makes the sky butterscotch and sunsets blue, with sunsets on Earth. " +
        "Finally write a short poem about light, air, and the color of distance, and count the syllables of each line.<｜Assistant｜><think>\n";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"whale-ds2-{Environment.ProcessId}-{Guid.NewGuid():N}");
    private readonly Lazy<VocabData> _vocab = new(() => SyntheticVocab.Truncate(
        SyntheticVocab.Load(Path.Combine(TestPaths.Shared, "tokenizers"), "deepseek-v3"), 1500));
    private readonly object _gate = new();

    public VocabData Vocab => _vocab.Value;

    /// <summary>Path of a model (written on first use). <paramref name="mixed"/>: Q4_K_M-like mix on top of <paramref name="type"/>.</summary>
    public string Get(string preset, GgmlType type, bool legacy = false, bool mixed = false) =>
        Get(preset, type, legacy, mixed, null, "");

    /// <summary>A preset changed by <paramref name="edit"/> (same seed, so the same weights where shapes agree), named by <paramref name="tag"/>.</summary>
    public string Get(string preset, GgmlType type, bool legacy, bool mixed, Func<SyntheticDeepSeek2Shape, SyntheticDeepSeek2Shape>? edit, string tag)
    {
        lock (_gate)
        {
            Directory.CreateDirectory(_dir);
            string path = Path.Combine(_dir, $"{preset}{tag}-{type}{(mixed ? "_M" : "")}{(legacy ? "-legacy" : "")}.gguf");
            if (!File.Exists(path))
            {
                var shape = SyntheticDeepSeek2Shape.Get(preset);
                if (edit is not null) shape = edit(shape);
                SyntheticDeepSeek2Writer.Write(path, shape, type, Vocab, seed: 11, legacyMla: legacy, mixed: mixed);
            }
            return path;
        }
    }

    /// <summary>The preset with a multi-token-prediction block (nextn tensors) after the same main weights.</summary>
    public string GetWithMtp(string preset, GgmlType type)
    {
        lock (_gate)
        {
            Directory.CreateDirectory(_dir);
            string path = Path.Combine(_dir, $"{preset}-mtp-{type}.gguf");
            if (!File.Exists(path)) SyntheticDeepSeek2Writer.Write(path, SyntheticDeepSeek2Shape.Get(preset), type, Vocab, seed: 11, mtp: true);
            return path;
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
