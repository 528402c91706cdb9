using Whale.Engine;
using Whale.Gguf;
using Whale.Sampling;
using Whale.Tests.Models;
using Whale.Tests.TestData;
using Whale.Tokenization;

namespace Whale.Tests.Engine;

public class GeneratorTests
{
    private static WhaleModel Load() => WhaleModel.Load(SyntheticModels.Get("qwen2", GgmlType.Q8_0), new ModelOptions { Threads = 2 });

    [Fact]
    public void CachedPrefixGivesTheSameLogitsAsAFreshEvaluation()
    {
        using var model = Load();
        var turn1 = model.TokenizeChat([new ChatMessage(ChatRole.User, "Hello there")]);
        var turn2 = model.TokenizeChat([
            new ChatMessage(ChatRole.User, "Hello there"),
            new ChatMessage(ChatRole.Assistant, "Hi!"),
            new ChatMessage(ChatRole.User, "What is 2+2?")]);
        using var gen = model.CreateGenerator(512);
        gen.Evaluate(turn1);
        // Generate on turn2: the generator keeps the common prefix with turn1 and runs only the rest.
        var first = gen.Generate(turn2, new GenerationOptions { Sampling = SamplingParams.Greedy, MaxTokens = 1 }).First();
        using var fresh = model.CreateGenerator(512);
        var logits = fresh.Evaluate(turn2);
        Assert.Equal(LlamaCpp.LlamaCppReference.ArgMax(logits), first.TokenId);
        Assert.True(turn2.Length > turn1.Length);
    }

    [Fact]
    public void CancellationEndsWithCancelledAndTheGeneratorStaysUsable()
    {
        using var model = Load();
        using var gen = model.CreateGenerator(512);
        using var cts = new CancellationTokenSource();
        var prompt = model.Tokenizer.Encode("Once upon a time");
        var events = new List<TokenEvent>();
        foreach (var ev in gen.Generate(prompt, new GenerationOptions { Sampling = SamplingParams.Greedy, MaxTokens = 100, ParseReasoning = false }, cts.Token))
        {
            events.Add(ev);
            if (events.Count == 3) cts.Cancel();
        }
        Assert.Equal("cancelled", events[^1].FinishReason);
        Assert.True(events.Count(e => e.TokenId >= 0) <= 4);
        var again = gen.Generate(prompt, new GenerationOptions { Sampling = SamplingParams.Greedy, MaxTokens = 5, ParseReasoning = false }).ToList();
        Assert.Equal("length", again[^1].FinishReason);
        Assert.Equal(5, again.Count(e => e.TokenId >= 0));
    }

    [Fact]
    public void PromptLongerThanTheContextIsAClearError()
    {
        using var model = Load();
        using var gen = model.CreateGenerator(16);
        var prompt = model.Tokenizer.Encode(string.Join(' ', Enumerable.Repeat("word", 40)));
        var e = Assert.Throws<ArgumentException>(() => gen.Generate(prompt, new GenerationOptions()).ToList());
        Assert.Contains("context size 16", e.Message, StringComparison.Ordinal);
        // still usable afterwards
        Assert.NotEmpty(gen.Generate(model.Tokenizer.Encode("hi"), new GenerationOptions { MaxTokens = 2 }).ToList());
    }

    [Fact]
    public void ContextFullEndsWithLength()
    {
        using var model = Load();
        using var gen = model.CreateGenerator(24);
        var prompt = model.Tokenizer.Encode("Once upon a time there was");
        var events = gen.Generate(prompt, new GenerationOptions { Sampling = SamplingParams.Greedy, MaxTokens = 1000, ParseReasoning = false }).ToList();
        Assert.Equal("length", events[^1].FinishReason);
        Assert.True(events.Count(e => e.TokenId >= 0) <= 24 - prompt.Length + 1);
    }

    [Fact]
    public void StopStringEndsGenerationAndIsNotReturned()
    {
        var (_, _, text) = Stories260KTests.Expected();
        using var model = WhaleModel.Load(Stories260KTests.ModelPath, new ModelOptions { Threads = 1 });
        using var gen = model.CreateGenerator(512);
        var options = new GenerationOptions { Sampling = SamplingParams.Greedy, MaxTokens = 200, ParseReasoning = false, Stop = ["Lily"] };
        var events = gen.Generate([1], options).ToList();
        string output = string.Concat(events.Select(e => e.Content));
        Assert.Equal("stop", events[^1].FinishReason);
        Assert.Equal(text[..text.IndexOf("Lily", StringComparison.Ordinal)], output);
    }
}
