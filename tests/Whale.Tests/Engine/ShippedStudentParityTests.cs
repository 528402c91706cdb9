using Whale.Engine;
using Whale.Gguf;
using Whale.Tests.LlamaCpp;
using Whale.Tests.Models;
using Xunit.Abstractions;

namespace Whale.Tests.Engine;

/// <summary>
/// The committed distillation student (models/students/whale-r1-tiny-distill-qwen2.gguf: a dense qwen2 model trained
/// by src/Whale.Training on completions of the default model) in Whale and in llama.cpp, and the rule that keeps it
/// from becoming the default model.
/// </summary>
public sealed class ShippedStudentParityTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("whale-student").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string StudentPath()
    {
        string p = Path.Combine(TestPaths.RepoRoot, "models", "students", "whale-r1-tiny-distill-qwen2.gguf");
        return File.Exists(p) ? p : throw new FileNotFoundException("the shipped student is missing", p);
    }

    private const string Question = "<｜User｜>What is 58 * 7?<｜Assistant｜><think>\n50*7=350\n";

    /// <summary>Logits of several prefixes and a 48-token greedy continuation agree with llama.cpp (F32 weights, F16 KV in both).</summary>
    [Fact]
    public void MatchesLlamaCpp()
    {
        string path = StudentPath();
        using (var f = GgufFile.Open(path))
        {
            Assert.Equal("qwen2", f.Architecture);
            Assert.True(f.TryGetTensor("blk.0.attn_q.bias", out _));
        }
        var (worst, greedy, text) = Compare(path);
        output.WriteLine($"worst max|diff|/max|logit| = {worst:E2}; greedy {greedy} tokens: {text}");
    }

    /// <summary>
    /// Without output.weight both engines use token_embd as the head (tied embeddings): llama.cpp loads such a file and
    /// agrees with Whale, whose logits equal those of a file whose output.weight is a copy of token_embd.
    /// </summary>
    [Fact]
    public void TiedHeadLoadsInBothEngines()
    {
        string tied = Rewrite(StudentPath(), Path.Combine(_dir, "tied.gguf"), copyEmbeddingToOutput: false);
        string copied = Rewrite(StudentPath(), Path.Combine(_dir, "copied.gguf"), copyEmbeddingToOutput: true);
        using (var f = GgufFile.Open(tied)) Assert.False(f.TryGetTensor("output.weight", out _));
        var (worst, _, _) = Compare(tied);
        output.WriteLine($"tied: worst max|diff|/max|logit| = {worst:E2}");
        float[] Logits(string p)
        {
            using var m = WhaleModel.Load(p, new ModelOptions { Threads = 2 });
            using var g = m.CreateGenerator(256);
            return g.Evaluate(m.Tokenizer.Encode(Question, addSpecial: true, parseSpecial: true));
        }
        Assert.Equal(Logits(copied), Logits(tied));
        Assert.NotEqual(Logits(StudentPath()), Logits(tied)); // the head really changed
    }

    /// <summary>
    /// whale run/chat/serve take the first models/*.gguf in ordinal order (DefaultModel, top level only): the student
    /// lives in models/students/ so the deepseek2 model stays the default ("-distill" would sort before ".gguf").
    /// </summary>
    [Fact]
    public void StudentIsNotTheDefaultModel()
    {
        var models = Path.Combine(TestPaths.RepoRoot, "models");
        var first = Directory.GetFiles(models, "*.gguf").Order(StringComparer.Ordinal).First();
        Assert.Equal("whale-r1-tiny.gguf", Path.GetFileName(first));
        Assert.StartsWith(Path.Combine(models, "students") + Path.DirectorySeparatorChar, StudentPath(), StringComparison.Ordinal);
    }

    private (double Worst, int Greedy, string Text) Compare(string path)
    {
        using var model = WhaleModel.Load(path, new ModelOptions { Threads = 2 });
        var tokens = model.Tokenizer.Encode(Question, addSpecial: true, parseSpecial: true);
        using var gen = model.CreateGenerator(512);
        using var cpp = new LlamaCppReference(path, contextSize: 512, batchSize: 64);
        Assert.Equal(tokens, cpp.Tokenize(Question));
        double worst = 0;
        foreach (int len in new[] { 1, 5, tokens.Length / 2, tokens.Length })
        {
            var ours = gen.Evaluate(tokens[..len]);
            var theirs = cpp.Evaluate(tokens[..len]);
            worst = Math.Max(worst, Parity.MaxRelativeDiff(ours, theirs));
            Assert.Equal(LlamaCppReference.ArgMax(theirs), LlamaCppReference.ArgMax(ours));
        }
        var options = new GenerationOptions { Sampling = Whale.Sampling.SamplingParams.Greedy, MaxTokens = 48, ParseReasoning = false };
        var greedy = gen.Generate(tokens, options).Where(e => e.TokenId >= 0).Select(e => e.TokenId).ToList();
        var theirGreedy = cpp.Greedy(tokens, 48, model.Tokenizer.IsEog);
        Assert.True(worst <= 1e-3, $"max|diff|/max|logit| = {worst:E2}");
        Assert.Equal(theirGreedy, greedy);
        return (worst, greedy.Count, model.Tokenizer.Decode(greedy));
    }

    /// <summary>Copies the file without output.weight, or with output.weight = token_embd.</summary>
    private static string Rewrite(string path, string outPath, bool copyEmbeddingToOutput)
    {
        using var f = GgufFile.Open(path);
        var w = new GgufWriter();
        foreach (var (k, v) in f.Metadata) w.Set(k, v);
        var embd = f.Tensors.Single(t => t.Name == "token_embd.weight");
        foreach (var t in f.Tensors)
        {
            if (t.Name != "output.weight") w.AddTensor(t.Name, t.Type, t.Shape, f.GetTensorSpan(t).ToArray());
            else if (copyEmbeddingToOutput) w.AddTensor(t.Name, embd.Type, embd.Shape, f.GetTensorSpan(embd).ToArray());
        }
        w.Write(outPath);
        return outPath;
    }
}
