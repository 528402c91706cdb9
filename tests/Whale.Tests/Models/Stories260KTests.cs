using Whale.Engine;
using Whale.Sampling;
using Whale.Tests.LlamaCpp;

namespace Whale.Tests.Models;

/// <summary>The real trained stories260K (llama, SentencePiece vocab) reproduces llama.cpp's 200 greedy tokens.</summary>
public class Stories260KTests
{
    internal static string ModelPath => Path.Combine(TestPaths.Shared, "models", "stories260K", "stories260K.gguf");

    internal static (int[] PromptIds, int[] Ids, string Text) Expected()
    {
        var lines = File.ReadAllLines(Path.Combine(TestPaths.Shared, "models", "stories260K", "greedy-200.txt"));
        int[] Parse(string prefix) => lines.First(l => l.StartsWith(prefix, StringComparison.Ordinal))[prefix.Length..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        string text = lines.First(l => l.StartsWith("text: ", StringComparison.Ordinal))["text: ".Length..].Replace("\\n", "\n", StringComparison.Ordinal);
        return (Parse("prompt_ids: "), Parse("ids: "), text);
    }

    [Fact]
    public void GreedyIdsAndTextMatchLlamaCpp()
    {
        var (prompt, ids, text) = Expected();
        Assert.Equal(200, ids.Length);
        using var model = WhaleModel.Load(ModelPath, new ModelOptions { Threads = 2 });
        using var gen = model.CreateGenerator(512);
        var options = new GenerationOptions { Sampling = SamplingParams.Greedy, MaxTokens = 200, ParseReasoning = false };
        var got = new List<int>();
        var sb = new System.Text.StringBuilder();
        foreach (var ev in gen.Generate(prompt, options))
        {
            if (ev.TokenId >= 0) got.Add(ev.TokenId);
            sb.Append(ev.Content);
        }
        Assert.Equal(ids, got);
        Assert.Equal(text, sb.ToString());
    }

    [Fact]
    public void BatchedAndTokenByTokenLogitsMatchLlamaCpp()
    {
        var (_, ids, _) = Expected();
        var prompt = new[] { 1 }.Concat(ids.Take(60)).ToArray();
        using var model = WhaleModel.Load(ModelPath, new ModelOptions { Threads = 2, BatchSize = 16 });
        var batched = new float[model.Config.VocabSize];
        model.Model.Forward(prompt, model.Model.CreateCache(128), batched);
        var cache = model.Model.CreateCache(128);
        var single = new float[model.Config.VocabSize];
        foreach (var t in prompt) model.Model.Forward([t], cache, single);

        using var cppBatched = new LlamaCppReference(ModelPath, contextSize: 128, batchSize: 16);
        using var cppSingle = new LlamaCppReference(ModelPath, contextSize: 128, batchSize: 1);
        double rb = Parity.MaxRelativeDiff(batched, cppBatched.Evaluate(prompt));
        double rs = Parity.MaxRelativeDiff(single, cppSingle.Evaluate(prompt));
        double tolerance = System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? 1e-5 : 1e-3;
        Assert.True(rb <= tolerance, $"batched: {rb:E2}");
        Assert.True(rs <= tolerance, $"token by token: {rs:E2}");
    }
}
