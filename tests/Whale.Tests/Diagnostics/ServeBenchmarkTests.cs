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
        var r = await ServeBenchmark.RunAsync(engine, model, concurrency: 3, requests: 6, promptTokens: 40, sharedPrefixTokens: 32, generateTokens: 4);
        Assert.Equal(6, r.Requests);
        Assert.Equal(24, r.GeneratedTokens);
        Assert.True(r.CacheHitRate >= 0.35, $"hit rate {r.CacheHitRate}");
        Assert.True(r.TtftMedianMs > 0 && r.E2eMedianMs >= r.TtftMedianMs);
        Assert.True(r.MeanBatchTokens >= 1);
    }
}
