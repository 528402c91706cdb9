using Whale.Diagnostics;
using Whale.Engine;
using Whale.Gguf;
using Whale.Tests.TestData;

namespace Whale.Tests.Diagnostics;

public class ServeBenchmarkTests
{
    [Fact]
    public async Task EveryRequestGeneratesTheAskedTokensAndASharedPrefixIsHit()
    {
        using var model = WhaleModel.Load(SyntheticModels.Get("qwen2", GgmlType.Q8_0), new ModelOptions { Threads = 1 });
        await using var engine = new ContinuousEngine(model, new ContinuousEngineOptions { ContextSize = 128, BlockSize = 8 });
        // The first three run together before anything is cached; the other three hit 32 of 40 tokens.
        var r = await ServeBenchmark.RunAsync(engine, model, new ServeWorkload { Concurrency = 3, Requests = 6, PromptTokens = 40, SharedPrefixTokens = 32, GenerateTokens = 4 });
        Assert.Equal(6, r.Requests);
        Assert.Equal(24, r.GeneratedTokens);
        Assert.Equal(240, r.PromptTokens);
        Assert.True(r.CacheHitRate >= 0.35, $"hit rate {r.CacheHitRate}");
        Assert.True(r.Ttft.P50 > 0 && r.E2e.P50 >= r.Ttft.P50 && r.Ttft.P99 >= r.Ttft.P90 && r.Ttft.P90 >= r.Ttft.P50);
        Assert.True(r.Itl.P50 > 0, "inter-token gaps are measured");
        Assert.True(r.MeanBatchTokens >= 1);
    }

    [Fact]
    public async Task FollowUpTurnsExtendThePreviousPromptAndHitItsBlocks()
    {
        using var model = WhaleModel.Load(SyntheticModels.Get("qwen2", GgmlType.Q8_0), new ModelOptions { Threads = 1 });
        await using var engine = new ContinuousEngine(model, new ContinuousEngineOptions { ContextSize = 128, BlockSize = 8 });
        // 2 conversations x 3 turns; prompts 24, then 24 + 8 + 8 = 40, then 56 tokens: turns 2 and 3 find every full
        // block of the previous turn's prompt (and answer) in the cache, nothing is shared between conversations.
        var w = new ServeWorkload { Concurrency = 2, Requests = 6, PromptTokens = 24, GenerateTokens = 8, Turns = 3, TurnTokens = 8 };
        var r = await ServeBenchmark.RunAsync(engine, model, w);
        Assert.Equal(6, r.Requests);
        Assert.Equal(48, r.GeneratedTokens);
        Assert.Equal(2 * (24 + 40 + 56), r.PromptTokens);
        // Turn 1 computed 31 positions (prompt + 7 answers fed back): 3 full blocks, so turn 2 hits 24 of 40; turn 2
        // computed 47: turn 3 hits 40 of 56. 64 of 120 prompt tokens per conversation; without reuse it would be 0.
        Assert.True(r.CacheHitRate >= 0.45, $"hit rate {r.CacheHitRate}");
        Assert.Equal(64, w.LongestSequence);
    }

    [Fact]
    public async Task PoissonArrivalsAreSpacedByTheRate()
    {
        var w = new ServeWorkload { Concurrency = 4, Requests = 400, RequestRate = 50, GenerateTokens = 1, PromptTokens = 4 };
        var arrivals = ServeBenchmark.ArrivalSeconds(w);
        Assert.Equal(400, arrivals.Length);
        for (int i = 1; i < arrivals.Length; i++) Assert.True(arrivals[i] >= arrivals[i - 1]);
        double meanGap = arrivals[^1] / arrivals.Length;
        Assert.InRange(meanGap, 0.017, 0.023);   // 1/50 s: 400 exponential gaps
        Assert.All(ServeBenchmark.ArrivalSeconds(w with { RequestRate = 0 }), a => Assert.Equal(0, a));

        using var model = WhaleModel.Load(SyntheticModels.Get("qwen2", GgmlType.Q8_0), new ModelOptions { Threads = 1 });
        await using var engine = new ContinuousEngine(model, new ContinuousEngineOptions { ContextSize = 64, BlockSize = 8 });
        var small = w with { Requests = 6, RequestRate = 20 };
        var r = await ServeBenchmark.RunAsync(engine, model, small);
        Assert.Equal(6, r.Requests);
        Assert.True(r.Seconds >= ServeBenchmark.ArrivalSeconds(small)[^1], "the last request cannot start before it arrives");
    }
}
