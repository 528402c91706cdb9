using Whale.Engine;
using Whale.Gguf;
using Whale.Tests.LlamaCpp;
using Whale.Tests.Models;
using Xunit.Abstractions;

namespace Whale.Tests.Engine;

/// <summary>
/// The committed default model (models/whale-r1-tiny.gguf, trained by src/Whale.Training) in Whale and in llama.cpp.
/// The file carries the MTP block in llama.cpp's nextn layout (blk.{n}.nextn.*); the llama.cpp build used here
/// (LLamaSharp 0.30, Oct 2025) refuses deepseek2 files with those tensors, so llama.cpp parity is checked on the same
/// file with the MTP block removed, and Whale is shown to give identical logits with and without it.
/// </summary>
public sealed class ShippedModelParityTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("whale-shipped").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string ShippedPath()
    {
        for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            string p = Path.Combine(dir, "models", "whale-r1-tiny.gguf");
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException("models/whale-r1-tiny.gguf not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Copies a deepseek2 file without its MTP block (block_count - nextn, no nextn key, no blk.{n} tensors).</summary>
    internal static string WithoutMtp(string path, string outPath)
    {
        using var f = GgufFile.Open(path);
        int nextn = f.GetInt32("deepseek2.nextn_predict_layers", 0);
        int blocks = f.GetInt32("deepseek2.block_count", 0);
        var w = new GgufWriter();
        foreach (var (k, v) in f.Metadata)
        {
            if (k == "deepseek2.nextn_predict_layers") continue;
            if (k == "deepseek2.block_count") { w.SetUInt32(k, (uint)(blocks - nextn)); continue; }
            w.Set(k, v);
        }
        foreach (var t in f.Tensors)
        {
            bool mtp = false;
            for (int b = blocks - nextn; b < blocks; b++) mtp |= t.Name.StartsWith($"blk.{b}.", StringComparison.Ordinal);
            if (!mtp) w.AddTensor(t.Name, t.Type, t.Shape, f.GetTensorSpan(t).ToArray());
        }
        w.Write(outPath);
        return outPath;
    }

    private const string Question = "<｜User｜>What is 4821 + 379?<｜Assistant｜><think>\n4821+0379\n1+9+0=0 c1\n2+7+1=0 c1\n";

    /// <summary>Logits of several prefixes and a 48-token greedy continuation agree with llama.cpp (F32 weights, F16 KV in both).</summary>
    [Fact]
    public void MatchesLlamaCppWithoutTheMtpBlock()
    {
        string plain = WithoutMtp(ShippedPath(), Path.Combine(_dir, "nomtp.gguf"));
        using var model = WhaleModel.Load(plain, new ModelOptions { Threads = 2 });
        var tokens = model.Tokenizer.Encode(Question, addSpecial: true, parseSpecial: true);
        using var gen = model.CreateGenerator(512);
        using var cpp = new LlamaCppReference(plain, contextSize: 512, batchSize: 64);
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
        output.WriteLine($"{tokens.Length} tokens: worst max|diff|/max|logit| = {worst:E2}; greedy {greedy.Count} tokens: {model.Tokenizer.Decode(greedy)}");
        Assert.True(worst <= 1e-3, $"max|diff|/max|logit| = {worst:E2}");
        Assert.Equal(theirGreedy, greedy);
    }

    /// <summary>The MTP block is extra: Whale computes the same main-model logits with or without it.</summary>
    [Fact]
    public void MtpBlockDoesNotChangeTheMainModel()
    {
        string path = ShippedPath();
        using (var f = GgufFile.Open(path))
        {
            Assert.Equal(1, f.GetInt32("deepseek2.nextn_predict_layers", 0));
            int n = f.GetInt32("deepseek2.block_count", 0) - 1;
            Assert.True(f.TryGetTensor($"blk.{n}.nextn.eh_proj.weight", out _));
        }
        string plain = WithoutMtp(path, Path.Combine(_dir, "nomtp.gguf"));
        float[] Logits(string p)
        {
            using var m = WhaleModel.Load(p, new ModelOptions { Threads = 2 });
            using var g = m.CreateGenerator(256);
            return g.Evaluate(m.Tokenizer.Encode(Question, addSpecial: true, parseSpecial: true));
        }
        Assert.Equal(Logits(plain), Logits(path));
    }
}
