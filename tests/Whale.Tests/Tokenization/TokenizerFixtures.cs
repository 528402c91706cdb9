using System.Collections.Concurrent;
using System.Text.Json;
using Whale.Gguf;
using Whale.Tokenization;

namespace Whale.Tests.Tokenization;

/// <summary>Shared, lazily built tokenizers for the fixture vocabularies (built once per test run).</summary>
internal static class TokenizerFixtures
{
    private static readonly ConcurrentDictionary<string, Lazy<Tokenizer>> Cache = new();

    public static string TokDir => Path.Combine(TestPaths.Shared, "tokenizers");

    /// <summary>HF folder + pre name for the byte-level vocabularies built from tokenizer.json.</summary>
    public static (string Dir, string Pre) HfSource(string name) => name switch
    {
        "deepseek-v3" => ("deepseek-v3", "deepseek-v3"),
        "deepseek-r1-qwen" => ("deepseek-r1-distill-qwen", "deepseek-r1-qwen"),
        "deepseek-r1-distill-qwen" => ("deepseek-r1-distill-qwen", "deepseek-r1-qwen"),
        "qwen2" => ("qwen2.5", "qwen2"),
        "qwen2.5" => ("qwen2.5", "qwen2"),
        "qwen3" => ("qwen3", "qwen2"),
        _ => throw new ArgumentException(name),
    };

    public static Tokenizer Hf(string name) => Cache.GetOrAdd("hf:" + name, n => new Lazy<Tokenizer>(() =>
    {
        var (dir, pre) = HfSource(name);
        var d = Path.Combine(TokDir, dir);
        return new Tokenizer(VocabData.FromHuggingFace(Path.Combine(d, "tokenizer.json"), pre, Path.Combine(d, "tokenizer_config.json")));
    })).Value;

    public static Tokenizer Gguf(string path) => Cache.GetOrAdd("gguf:" + path, p => new Lazy<Tokenizer>(() =>
    {
        using var f = GgufFile.Open(path);
        return Tokenizer.FromGguf(f);
    })).Value;

    public static Tokenizer LlamaCppVocab(string name) => name switch
    {
        "deepseek-llm" or "deepseek-coder" or "gpt-2" => Gguf(Path.Combine(TokDir, "llama.cpp-vocab", $"ggml-vocab-{name}.gguf")),
        _ => Hf(name),
    };

    public static Tokenizer Stories => Gguf(Path.Combine(TestPaths.Shared, "models", "stories260K", "stories260K.gguf"));

    /// <summary>The llama.cpp test strings and expected ids of ggml-vocab-NAME.gguf.inp/.out.</summary>
    public static List<(string Text, int[] Ids)> LlamaCppCases(string name)
    {
        var basePath = Path.Combine(TokDir, "llama.cpp-vocab", $"ggml-vocab-{name}.gguf");
        var inputs = File.ReadAllText(basePath + ".inp").Split("\n__ggml_vocab_test__\n");
        var outputs = File.ReadAllText(basePath + ".out").Split('\n');
        var cases = new List<(string, int[])>();
        for (int i = 0; i < outputs.Length && i < inputs.Length; i++)
        {
            if (i == outputs.Length - 1 && outputs[i].Length == 0)
                break;
            var ids = outputs[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            cases.Add((inputs[i], ids));
        }
        return cases;
    }

    public sealed record RefCase(string Text, int[] IdsNoSpecial, int[] IdsWithSpecial);

    public sealed record RefFile(List<RefCase> Cases, string ChatPrompt, int[] ChatIds);

    public static RefFile Ref(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TokDir, "vectors", name + ".ref.json")));
        var root = doc.RootElement;
        var cases = new List<RefCase>();
        foreach (var c in root.GetProperty("cases").EnumerateArray())
        {
            cases.Add(new RefCase(
                c.GetProperty("text").GetString()!,
                c.GetProperty("ids_no_special").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                c.GetProperty("ids_with_special").EnumerateArray().Select(e => e.GetInt32()).ToArray()));
        }
        var chat = root.GetProperty("chat");
        return new RefFile(cases, chat.GetProperty("prompt").GetString()!,
            chat.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }

    public static string Show(IEnumerable<int> ids) => "[" + string.Join(" ", ids) + "]";
}
