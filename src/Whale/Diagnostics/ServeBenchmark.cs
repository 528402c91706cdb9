using System.Diagnostics;
using Whale.Engine;
using Whale.Sampling;

namespace Whale.Diagnostics;

/// <summary>
/// A closed-loop load generator for an <see cref="IInferenceEngine"/> (in process, no HTTP): keeps
/// <c>concurrency</c> requests in flight until <c>requests</c> have completed; each prompt is a prefix shared by all
/// requests followed by unique random tokens; greedy decoding with end-of-generation banned, so every request
/// generates exactly the asked number of tokens. Reports throughput, TTFT, TPOT, end-to-end latency and the
/// prefix-cache hit rate.
/// </summary>
public static class ServeBenchmark
{
    /// <summary>Runs one load level against <paramref name="engine"/> (fresh or not: the hit rate is measured over this level only).</summary>
    public static async Task<ServeBenchmarkResult> RunAsync(IInferenceEngine engine, WhaleModel model, int concurrency, int requests,
        int promptTokens, int sharedPrefixTokens, int generateTokens, int seed = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(model);
        if (concurrency < 1 || requests < 1) throw new ArgumentException("concurrency and requests must be at least 1");
        if (promptTokens < 1 || sharedPrefixTokens < 0 || sharedPrefixTokens > promptTokens) throw new ArgumentException("need 0 <= shared prefix <= prompt tokens, prompt >= 1");
        var rng = new Random(seed);
        int vocab = model.Config.VocabSize;
        int Token() { int t; do t = rng.Next(vocab); while (model.Tokenizer.IsEog(t)); return t; }
        var prefix = Enumerable.Range(0, sharedPrefixTokens).Select(_ => Token()).ToArray();
        var prompts = new int[requests][];
        for (int i = 0; i < requests; i++) prompts[i] = [.. prefix, .. Enumerable.Range(0, promptTokens - sharedPrefixTokens).Select(_ => Token())];
        var options = new GenerationOptions
        {
            Sampling = SamplingParams.Greedy with { LogitBias = model.Tokenizer.EogIds.ToDictionary(id => id, _ => float.NegativeInfinity) },
            MaxTokens = generateTokens,
            ParseReasoning = false,
        };
        var before = engine.GetStats();
        var (steps0, tokens0, _) = engine is ContinuousEngine ce0 ? ce0.StepCounters : default;
        var ttft = new double[requests];
        var tpot = new List<double>();
        var e2e = new double[requests];
        long generated = 0;
        int next = -1;
        var start = Stopwatch.GetTimestamp();
        async Task Worker()
        {
            while (true)
            {
                int i = Interlocked.Increment(ref next);
                if (i >= requests) return;
                long t0 = Stopwatch.GetTimestamp();
                long first = 0, last = 0;
                int count = 0;
                await foreach (var e in engine.Submit(new EngineRequest(prompts[i], options), cancellationToken).ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (e.Token.TokenId < 0) continue;
                    last = Stopwatch.GetTimestamp();
                    if (count++ == 0) first = last;
                }
                ttft[i] = Stopwatch.GetElapsedTime(t0, first).TotalMilliseconds;
                e2e[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                Interlocked.Add(ref generated, count);
                if (count > 1)
                    lock (tpot) tpot.Add(Stopwatch.GetElapsedTime(first, last).TotalMilliseconds / (count - 1));
            }
        }
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(Worker, cancellationToken))).ConfigureAwait(false);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var after = engine.GetStats();
        long queries = after.PrefixCacheQueriesTotal - before.PrefixCacheQueriesTotal;
        double hitRate = queries > 0 ? (double)(after.PrefixCacheHitsTotal - before.PrefixCacheHitsTotal) / queries : 0;
        double meanBatch = 0;
        if (engine is ContinuousEngine ce)
        {
            var (steps, tokens, _) = ce.StepCounters;
            if (steps > steps0) meanBatch = (double)(tokens - tokens0) / (steps - steps0);
        }
        return new ServeBenchmarkResult(concurrency, requests, seconds, generated, (long)requests * promptTokens,
            Percentile(ttft, 0.5), Percentile(ttft, 0.9), Percentile([.. tpot], 0.5), Percentile(e2e, 0.5), hitRate, meanBatch);
    }

    private static double Percentile(double[] values, double p)
    {
        if (values.Length == 0) return 0;
        var s = values.Order().ToArray();
        return s[Math.Min(s.Length - 1, (int)Math.Floor(p * (s.Length - 1) + 0.5))];
    }
}
