using System.Diagnostics;
using Whale.Engine;
using Whale.Sampling;

namespace Whale.Diagnostics;

/// <summary>
/// A load generator for an <see cref="IInferenceEngine"/> (in process, no HTTP), after vLLM's benchmark_serving:
/// conversations arrive either closed-loop (<see cref="ServeWorkload.Concurrency"/> always in flight) or as a
/// Poisson process (<see cref="ServeWorkload.RequestRate"/>, capped at the concurrency); a conversation is one or
/// more turns, each turn's prompt extending the previous one with its answer and new user tokens (multi-turn
/// chat); first prompts start with a prefix shared by all conversations. Greedy decoding with end-of-generation
/// banned, so every request generates exactly the asked number of tokens. Reports throughput, TTFT, TPOT, ITL and
/// end-to-end latency percentiles and the prefix-cache hit rate.
/// </summary>
public static class ServeBenchmark
{
    /// <summary>Runs one load level against <paramref name="engine"/> (fresh or not: the hit rate is measured over this level only).</summary>
    public static async Task<ServeBenchmarkResult> RunAsync(IInferenceEngine engine, WhaleModel model, ServeWorkload workload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(workload);
        workload.Validate();
        var w = workload;
        var rng = new Random(w.Seed);
        int vocab = model.Config.VocabSize;
        int Token() { int t; do t = rng.Next(vocab); while (model.Tokenizer.IsEog(t)); return t; }
        int[] Tokens(int n) => [.. Enumerable.Range(0, n).Select(_ => Token())];
        var prefix = Tokens(w.SharedPrefixTokens);
        int conversations = w.Conversations;
        var firstPrompts = new int[conversations][];
        var turnTokens = new int[conversations][][];
        var arrivals = ArrivalSeconds(w);
        for (int c = 0; c < conversations; c++)
        {
            firstPrompts[c] = [.. prefix, .. Tokens(w.PromptTokens - w.SharedPrefixTokens)];
            turnTokens[c] = [.. Enumerable.Range(0, Turns(w, c) - 1).Select(_ => Tokens(w.TurnTokens))];
        }
        var options = new GenerationOptions
        {
            Sampling = SamplingParams.Greedy with { LogitBias = model.Tokenizer.EogIds.ToDictionary(id => id, _ => float.NegativeInfinity) },
            MaxTokens = w.GenerateTokens,
            ParseReasoning = false,
        };
        var before = engine.GetStats();
        var (steps0, tokens0, _) = engine is ContinuousEngine ce0 ? ce0.StepCounters : default;
        var ttft = new List<double>();
        var tpot = new List<double>();
        var itl = new List<double>();
        var e2e = new List<double>();
        long generated = 0, promptTokens = 0;
        int requests = 0;

        async Task Request(int[] prompt, List<int> answer)
        {
            long t0 = Stopwatch.GetTimestamp(), first = 0, last = 0;
            var gaps = new List<double>();
            await foreach (var e in engine.Submit(new EngineRequest(prompt, options), cancellationToken).ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (e.Token.TokenId < 0) continue;
                long now = Stopwatch.GetTimestamp();
                if (answer.Count == 0) first = now;
                else gaps.Add(Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
                last = now;
                answer.Add(e.Token.TokenId);
            }
            double end = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            lock (ttft)
            {
                requests++;
                generated += answer.Count;
                promptTokens += prompt.Length;
                ttft.Add(Stopwatch.GetElapsedTime(t0, first).TotalMilliseconds);
                e2e.Add(end);
                itl.AddRange(gaps);
                if (answer.Count > 1) tpot.Add(Stopwatch.GetElapsedTime(first, last).TotalMilliseconds / (answer.Count - 1));
            }
        }

        async Task Conversation(int c)
        {
            var prompt = firstPrompts[c];
            for (int turn = 0; ; turn++)
            {
                var answer = new List<int>(w.GenerateTokens);
                await Request(prompt, answer).ConfigureAwait(false);
                if (turn + 1 >= Turns(w, c)) return;
                prompt = [.. prompt, .. answer, .. turnTokens[c][turn]];
            }
        }

        var start = Stopwatch.GetTimestamp();
        if (w.RequestRate > 0)
        {
            using var slots = new SemaphoreSlim(w.Concurrency);
            var running = new List<Task>();
            for (int c = 0; c < conversations; c++)
            {
                // Task.Delay rounds to whole milliseconds (down) and may wake early: wait until the arrival time has
                // really passed, so no request starts before it arrives.
                for (TimeSpan due; (due = TimeSpan.FromSeconds(arrivals[c]) - Stopwatch.GetElapsedTime(start)) > TimeSpan.Zero;)
                    await Task.Delay(due < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : due, cancellationToken).ConfigureAwait(false);
                await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                int conv = c;
                running.Add(Task.Run(async () =>
                {
                    try { await Conversation(conv).ConfigureAwait(false); }
                    finally { slots.Release(); }
                }, cancellationToken));
            }
            await Task.WhenAll(running).ConfigureAwait(false);
        }
        else
        {
            int next = -1;
            async Task Worker()
            {
                for (int c; (c = Interlocked.Increment(ref next)) < conversations;)
                    await Conversation(c).ConfigureAwait(false);
            }
            await Task.WhenAll(Enumerable.Range(0, w.Concurrency).Select(_ => Task.Run(Worker, cancellationToken))).ConfigureAwait(false);
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var after = engine.GetStats();
        long queries = after.PrefixCacheQueriesTotal - before.PrefixCacheQueriesTotal;
        double meanBatch = 0;
        if (engine is ContinuousEngine ce)
        {
            var (steps, tokens, _) = ce.StepCounters;
            if (steps > steps0) meanBatch = (double)(tokens - tokens0) / (steps - steps0);
        }
        return new ServeBenchmarkResult
        {
            Workload = w,
            Requests = requests,
            Seconds = seconds,
            GeneratedTokens = generated,
            PromptTokens = promptTokens,
            Ttft = Percentiles.Of(ttft),
            Tpot = Percentiles.Of(tpot),
            Itl = Percentiles.Of(itl),
            E2e = Percentiles.Of(e2e),
            CacheHitRate = queries > 0 ? (double)(after.PrefixCacheHitsTotal - before.PrefixCacheHitsTotal) / queries : 0,
            MeanBatchTokens = meanBatch,
        };
    }

    /// <summary>When each conversation starts, in seconds from the start: a Poisson process of <see cref="ServeWorkload.RequestRate"/> (all 0 for a closed loop).</summary>
    internal static double[] ArrivalSeconds(ServeWorkload w)
    {
        var arrivals = new double[w.Conversations];
        if (w.RequestRate <= 0) return arrivals;
        var rng = new Random(w.Seed ^ 0x5EED);
        double clock = 0;
        for (int c = 0; c < arrivals.Length; c++)
        {
            clock += -Math.Log(1 - rng.NextDouble()) / w.RequestRate;   // exponential gaps
            arrivals[c] = clock;
        }
        return arrivals;
    }

    /// <summary>Turns of conversation <paramref name="c"/>: all have <see cref="ServeWorkload.Turns"/> except perhaps the last.</summary>
    private static int Turns(ServeWorkload w, int c) => Math.Min(w.Turns, w.Requests - c * w.Turns);
}
