using Whale.Engine;
using Whale.Gguf;
using Whale.Sampling;
using Whale.Tests.TestData;

namespace Whale.Tests.Engine;

public class SerialEngineTests
{
    private static WhaleModel Load() => WhaleModel.Load(SyntheticModels.Get("qwen2", GgmlType.Q8_0), new ModelOptions { Threads = 1 });

    private static GenerationOptions Greedy(int max) => new() { Sampling = SamplingParams.Greedy, MaxTokens = max, ParseReasoning = false };

    [Fact]
    public async Task ChoicesArriveInOrderWithUsageAndTheSecondRequestHitsThePrefixCache()
    {
        using var model = Load();
        await using var engine = new SerialEngine(model, new SerialEngineOptions { Parallel = 1, ContextSize = 256 });
        var prompt = model.Tokenizer.Encode("Once upon a time there was a little dog");
        var events = await engine.GenerateAsync(new EngineRequest(prompt, Greedy(3)) { N = 2 }).ToListAsync();
        var finals = events.Where(e => e.Token.IsFinal).ToList();
        Assert.Equal([0, 1], finals.Select(e => e.Index));
        Assert.All(finals, f => Assert.Equal(3, f.Usage!.CompletionTokens));
        Assert.Equal(0, finals[0].Usage!.CachedPromptTokens);
        // Greedy: both choices are the same tokens.
        Assert.Equal(events.Where(e => e.Index == 0 && e.Token.TokenId >= 0).Select(e => e.Token.TokenId),
                     events.Where(e => e.Index == 1 && e.Token.TokenId >= 0).Select(e => e.Token.TokenId));

        var longer = prompt.Concat(model.Tokenizer.Encode(" who liked bones")).ToArray();
        var again = await engine.GenerateAsync(new EngineRequest(longer, Greedy(1))).ToListAsync();
        Assert.Equal(prompt.Length, again[^1].Usage!.CachedPromptTokens);
        var other = await engine.GenerateAsync(new EngineRequest(longer, Greedy(1)) { CacheKey = "someone else" }).ToListAsync();
        Assert.Equal(0, other[^1].Usage!.CachedPromptTokens);
    }

    [Fact]
    public async Task AWaitingRequestCancelledLeavesTheQueueAndTheEngineGoesOn()
    {
        using var model = Load();
        await using var engine = new SerialEngine(model, new SerialEngineOptions { Parallel = 1, MaxWaiting = 1, ContextSize = 512 });
        var prompt = model.Tokenizer.Encode("Hello");
        var banEog = model.Tokenizer.EogIds.ToDictionary(id => id, _ => float.NegativeInfinity);
        using var cts1 = new CancellationTokenSource();
        var first = engine.Submit(new EngineRequest(prompt, Greedy(400) with { Sampling = SamplingParams.Greedy with { LogitBias = banEog } }), cts1.Token);
        await first.WaitToReadAsync();
        using var cts2 = new CancellationTokenSource();
        var second = engine.Submit(new EngineRequest(prompt, Greedy(2)), cts2.Token);
        Assert.Throws<EngineQueueFullException>(() => engine.Submit(new EngineRequest(prompt, Greedy(2))));
        await cts2.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await second.Completion);
        Assert.Equal(0, engine.GetStats().WaitingRequests);
        await cts1.CancelAsync();
        var rest = await first.ReadAllAsync().ToListAsync();
        Assert.Equal("cancelled", rest[^1].Token.FinishReason);
        var third = await engine.GenerateAsync(new EngineRequest(prompt, Greedy(2))).ToListAsync();
        Assert.Equal("length", third[^1].Token.FinishReason);
    }

    [Fact]
    public void ThinkingBudgetClosesTheReasoningBlockAndLogprobsAreNormalised()
    {
        using var model = Load();
        using var gen = model.CreateGenerator(256);
        var prompt = model.TokenizeChat([new Whale.Tokenization.ChatMessage(Whale.Tokenization.ChatRole.User, "Hi")]);
        var banEog = model.Tokenizer.EogIds.ToDictionary(id => id, _ => float.NegativeInfinity);
        var options = new GenerationOptions
        {
            Sampling = SamplingParams.Greedy with { LogitBias = banEog },
            MaxTokens = 12,
            PromptOpensThinking = model.ChatTemplate.GenerationPromptOpensThinking,
            ThinkingBudget = 2,
            TopLogprobs = 4,
        };
        var events = gen.Generate(prompt, options).ToList();
        var tokens = events.Where(e => e.TokenId >= 0).ToList();
        Assert.Equal(12, tokens.Count);
        Assert.True(tokens[0].InReasoning && tokens[1].InReasoning);
        Assert.False(tokens[^1].InReasoning);
        Assert.NotEmpty(string.Concat(events.Select(e => e.Content)));
        foreach (var t in tokens)
        {
            Assert.Equal(4, t.Logprob!.Top.Count);
            Assert.True(t.Logprob.Top[0].Logprob >= t.Logprob.Top[3].Logprob);
            Assert.True(t.Logprob.Logprob <= 0);
        }
    }
}
