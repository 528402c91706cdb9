using Whale.Engine;
using Whale.Gguf;
using Whale.Sampling;
using Whale.Tests.TestData;

namespace Whale.Tests.Engine;

public class ContinuousEngineTests
{
    private static GenerationOptions Greedy(int max, IReadOnlyDictionary<int, float>? bias = null) =>
        new() { Sampling = SamplingParams.Greedy with { LogitBias = bias }, MaxTokens = max, ParseReasoning = false };

    private static Dictionary<int, float> BanEog(WhaleModel model) => model.Tokenizer.EogIds.ToDictionary(id => id, _ => float.NegativeInfinity);

    private static async Task<List<int>[]> TokensAsync(IInferenceEngine engine, EngineRequest request, CancellationToken ct = default)
    {
        var result = Enumerable.Range(0, request.N).Select(_ => new List<int>()).ToArray();
        await foreach (var e in engine.Submit(request, ct).ReadAllAsync())
            if (e.Token.TokenId >= 0) result[e.Index].Add(e.Token.TokenId);
        return result;
    }

    private static List<int> Reference(IReadOnlyList<int> prompt, int max)
    {
        var h = new List<int>(prompt);
        for (int i = 0; i < max; i++) h.Add(FakePagedModel.Next(h, h.Count));
        return h.GetRange(prompt.Count, max);
    }

    [Fact]
    public async Task FakeModel_ThousandsOfRandomRequestsAndCancellationsGiveTheReferenceTokensAndLeakNoBlock()
    {
        using var tiny = WhaleModel.Load(SyntheticModels.Get("qwen2", GgmlType.Q8_0), new ModelOptions { Threads = 1 });
        var fake = new FakePagedModel(tiny.Config, maxBatchTokens: 32);
        var options = new ContinuousEngineOptions { MaxSequences = 8, MaxBatchTokens = 32, BlockSize = 4, KvCacheTokens = 160, ContextSize = 96, MaxWaiting = 100_000 };
        await using var engine = new ContinuousEngine(fake, tiny.Tokenizer, 96, options);
        var rng = new Random(1234);
        var bases = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, 24).Select(_ => rng.Next(3000)).ToArray()).ToArray();
        int checkedChoices = 0, cancelled = 0;
        for (int wave = 0; wave < 40; wave++)
        {
            var tasks = new List<Task>();
            for (int r = 0; r < 50; r++)
            {
                var prompt = bases[rng.Next(bases.Length)].Take(rng.Next(0, 25)).Concat(Enumerable.Range(0, rng.Next(1, 10)).Select(_ => rng.Next(3000))).ToArray();
                int max = rng.Next(0, 14), n = rng.Next(10) == 0 ? 2 : 1;
                string? key = rng.Next(5) == 0 ? "other" : null;
                int cancelAfter = rng.Next(10) == 0 ? rng.Next(0, 3) : -1;
                var request = new EngineRequest(prompt, Greedy(max)) { N = n, CacheKey = key };
                tasks.Add(Task.Run(async () =>
                {
                    using var cts = new CancellationTokenSource();
                    if (cancelAfter == 0) await cts.CancelAsync();
                    else if (cancelAfter > 0) cts.CancelAfter(cancelAfter);
                    List<int>[] got;
                    try { got = await TokensAsync(engine, request, cts.Token); }
                    catch (OperationCanceledException) { Interlocked.Increment(ref cancelled); return; }
                    if (cts.IsCancellationRequested) { Interlocked.Increment(ref cancelled); return; }
                    var expected = Reference(prompt, max);
                    foreach (var g in got) Assert.Equal(expected, g);
                    Interlocked.Add(ref checkedChoices, n);
                }));
            }
            await Task.WhenAll(tasks);
        }
        Assert.True(checkedChoices > 1500, $"{checkedChoices} choices checked");
        Assert.True(cancelled > 50, $"{cancelled} cancelled");
        var stats = engine.GetStats();
        for (int i = 0; i < 100 && (stats.KvCacheUsage > 0 || stats.RunningRequests > 0); i++)
        {
            await Task.Delay(10);
            stats = engine.GetStats();
        }
        Assert.Equal(0, stats.RunningRequests);
        Assert.Equal(0, stats.WaitingRequests);
        Assert.Equal(0, stats.KvCacheUsage);
        Assert.True(stats.PrefixCacheHitsTotal > 0);
        Assert.True(engine.StepCounters.Preemptions > 0, "no preemption happened");
        Assert.InRange(fake.MaxSequencesSeen, 2, 8);
    }

    [Fact]
    public async Task FakeModel_LongPromptsArePrefilledInChunksWithinTheTokenBudget()
    {
        using var tiny = WhaleModel.Load(SyntheticModels.Get("qwen2", GgmlType.Q8_0), new ModelOptions { Threads = 1 });
        var fake = new FakePagedModel(tiny.Config, maxBatchTokens: 8);
        await using var engine = new ContinuousEngine(fake, tiny.Tokenizer, 64, new ContinuousEngineOptions { MaxBatchTokens = 8, BlockSize = 4 });
        var prompt = Enumerable.Range(100, 30).ToArray();
        var got = await TokensAsync(engine, new EngineRequest(prompt, Greedy(3)));
        Assert.Equal(Reference(prompt, 3), got[0]);
        Assert.Equal(4 + 2, fake.Forwards);   // 8 + 8 + 8 + 6 prompt tokens, then two decode steps
        Assert.Equal(30, engine.GetStats().PrefillTokensTotal);
    }

    [Theory]
    [InlineData("qwen2", GgmlType.Q8_0)]
    [InlineData("qwen2", GgmlType.F32)]
    public async Task ARequestServedInABatchOfManyGivesTheSameGreedyTokensAsAlone(string arch, GgmlType type)
    {
        using var model = WhaleModel.Load(SyntheticModels.Get(arch, type), new ModelOptions { Threads = 2 });
        var ban = BanEog(model);
        string[] texts = ["Once upon a time", "The quick brown fox jumps over the lazy dog and then", "Hello", "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z",
            "In the beginning there was", "Tell me a story about a dragon who liked to eat apples in the garden"];
        var prompts = texts.Select(t => model.Tokenizer.Encode(t)).ToArray();
        var options = new ContinuousEngineOptions { ContextSize = 128, MaxBatchTokens = 24, BlockSize = 16, MaxSequences = 8 };
        var alone = new List<int>[prompts.Length];
        await using (var engine = new ContinuousEngine(model, options))
        {
            for (int i = 0; i < prompts.Length; i++)
                alone[i] = (await TokensAsync(engine, new EngineRequest(prompts[i], Greedy(20, ban)) { CacheKey = $"u{i}" }))[0];
        }
        // Together, with a storage so small that sequences are preempted and recomputed.
        await using var batched = new ContinuousEngine(model, options with { KvCacheTokens = 128 });
        var together = await Task.WhenAll(prompts.Select((p, i) => TokensAsync(batched, new EngineRequest(p, Greedy(20, ban)))));
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(alone[i], together[i][0]);
        Assert.True(batched.StepCounters.Preemptions > 0);
        Assert.True(batched.StepCounters.Tokens / (double)batched.StepCounters.Steps > 2, "steps were not batched");
    }

    [Theory]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.F32)]
    public async Task DeepSeek2_ARequestServedInABatchOfManyGivesTheSameGreedyTokensAsAlone(GgmlType type)
    {
        using var fx = new Whale.Tests.Models.DeepSeek2.DeepSeek2Fixture();
        using var model = WhaleModel.Load(fx.Get("v3-tiny", type), new ModelOptions { Threads = 2 });
        var ban = BanEog(model);
        string[] texts = ["Why is the sky blue?", "Hello", "Explain Rayleigh scattering like I am five, then write a poem about light and air", "Mars sunsets are blue"];
        var prompts = texts.Select(t => model.Tokenizer.Encode(t)).ToArray();
        var options = new ContinuousEngineOptions { ContextSize = 96, MaxBatchTokens = 16, BlockSize = 8, MaxSequences = 4 };
        var alone = new List<int>[prompts.Length];
        await using (var engine = new ContinuousEngine(model, options))
        {
            for (int i = 0; i < prompts.Length; i++)
                alone[i] = (await TokensAsync(engine, new EngineRequest(prompts[i], Greedy(12, ban)) { CacheKey = $"u{i}" }))[0];
        }
        await using var batched = new ContinuousEngine(model, options with { KvCacheTokens = 96 });
        var together = await Task.WhenAll(prompts.Select(p => TokensAsync(batched, new EngineRequest(p, Greedy(12, ban)))));
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(alone[i], together[i][0]);
        Assert.True(batched.StepCounters.Tokens / (double)batched.StepCounters.Steps > 2, "steps were not batched");
    }

    [Fact]
    public async Task ChoicesShareThePromptAndAPrefixHitReducesPrefillWork()
    {
        using var model = WhaleModel.Load(SyntheticModels.Get("qwen2", GgmlType.Q8_0), new ModelOptions { Threads = 2 });
        await using var engine = new ContinuousEngine(model, new ContinuousEngineOptions { ContextSize = 256, BlockSize = 16 });
        var prompt = Enumerable.Range(200, 40).ToArray();
        var first = await engine.GenerateAsync(new EngineRequest(prompt, Greedy(3)) { N = 2 }).ToListAsync();
        var finals = first.Where(e => e.Token.IsFinal).OrderBy(e => e.Index).ToList();
        Assert.Equal([0, 1], finals.Select(e => e.Index));
        Assert.All(finals, f => Assert.Equal(0, f.Usage!.CachedPromptTokens));
        Assert.Equal(first.Where(e => e.Index == 0 && e.Token.TokenId >= 0).Select(e => e.Token.TokenId),
                     first.Where(e => e.Index == 1 && e.Token.TokenId >= 0).Select(e => e.Token.TokenId));
        Assert.Equal(40 + 8, engine.GetStats().PrefillTokensTotal);   // choice 1 takes the two full prompt blocks

        var longer = prompt.Concat(Enumerable.Range(300, 10)).ToArray();
        var again = await engine.GenerateAsync(new EngineRequest(longer, Greedy(1))).ToListAsync();
        Assert.Equal(32, again[^1].Usage!.CachedPromptTokens);
        Assert.Equal(48 + 50 - 32, engine.GetStats().PrefillTokensTotal);
        var other = await engine.GenerateAsync(new EngineRequest(longer, Greedy(1)) { CacheKey = "someone else" }).ToListAsync();
        Assert.Equal(0, other[^1].Usage!.CachedPromptTokens);
        var stats = engine.GetStats();
        Assert.Equal(40 + 40 + 50 + 50, stats.PrefixCacheQueriesTotal);
        Assert.Equal(32 + 32, stats.PrefixCacheHitsTotal);
    }

    [Fact]
    public async Task WithPrefixCachingOffSharedPrefixRequestsReportNoCachedTokensAndGiveTheSameGreedyTokens()
    {
        using var model = WhaleModel.Load(SyntheticModels.Get("qwen2", GgmlType.Q8_0), new ModelOptions { Threads = 2 });
        var ban = BanEog(model);
        var prefix = Enumerable.Range(200, 48).ToArray();
        var prompts = Enumerable.Range(0, 3).Select(i => prefix.Concat(Enumerable.Range(400 + 10 * i, 5 + i)).ToArray()).ToArray();
        var options = new ContinuousEngineOptions { ContextSize = 128, BlockSize = 16 };

        async Task<(List<int>[] Tokens, int[] Cached, EngineStats Stats)> RunAsync(bool prefixCaching)
        {
            await using var engine = new ContinuousEngine(model, options with { PrefixCaching = prefixCaching });
            var tokens = new List<int>[prompts.Length];
            var cached = new int[prompts.Length];
            for (int i = 0; i < prompts.Length; i++)   // one after another, so later requests can find the shared blocks
            {
                var events = await engine.GenerateAsync(new EngineRequest(prompts[i], Greedy(6, ban)) { N = i == 2 ? 2 : 1 }).ToListAsync();
                tokens[i] = events.Where(e => e.Index == 0 && e.Token.TokenId >= 0).Select(e => e.Token.TokenId).ToList();
                foreach (int choice in events.Select(e => e.Index).Distinct())
                    Assert.Equal(tokens[i], events.Where(e => e.Index == choice && e.Token.TokenId >= 0).Select(e => e.Token.TokenId));
                cached[i] = events.Where(e => e.Token.IsFinal).Max(e => e.Usage!.CachedPromptTokens);
            }
            return (tokens, cached, engine.GetStats());
        }

        var on = await RunAsync(prefixCaching: true);
        var off = await RunAsync(prefixCaching: false);
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(on.Tokens[i], off.Tokens[i]);
        Assert.Equal([0, 48, 48], on.Cached);
        Assert.True(on.Stats.PrefixCacheHitsTotal >= 96, $"{on.Stats.PrefixCacheHitsTotal} hits");
        Assert.Equal([0, 0, 0], off.Cached);
        Assert.Equal(0, off.Stats.PrefixCacheHitsTotal);
        // Every prompt (and the second choice of the last one) prefilled in full.
        Assert.Equal(prompts.Sum(p => p.Length) + prompts[2].Length, off.Stats.PrefillTokensTotal);
        Assert.True(on.Stats.PrefillTokensTotal < off.Stats.PrefillTokensTotal);
    }

    [Fact]
    public async Task CancellingARunningRequestEndsItAndFreesItsBlocks()
    {
        using var model = WhaleModel.Load(SyntheticModels.Get("qwen2", GgmlType.Q8_0), new ModelOptions { Threads = 1 });
        await using var engine = new ContinuousEngine(model, new ContinuousEngineOptions { ContextSize = 512, BlockSize = 16 });
        using var cts = new CancellationTokenSource();
        var reader = engine.Submit(new EngineRequest(model.Tokenizer.Encode("Hello"), Greedy(400, BanEog(model))), cts.Token);
        await reader.WaitToReadAsync();
        Assert.True(engine.GetStats().KvCacheUsage > 0);
        await cts.CancelAsync();
        var rest = await reader.ReadAllAsync().ToListAsync();
        Assert.Equal("cancelled", rest[^1].Token.FinishReason);
        var stats = engine.GetStats();
        for (int i = 0; i < 100 && stats.KvCacheUsage > 0; i++) { await Task.Delay(10); stats = engine.GetStats(); }
        Assert.Equal(0, stats.KvCacheUsage);
        Assert.Equal(0, stats.RunningRequests);
        var again = await engine.GenerateAsync(new EngineRequest(model.Tokenizer.Encode("Hello"), Greedy(2))).ToListAsync();
        Assert.Equal("length", again[^1].Token.FinishReason);
    }
}
