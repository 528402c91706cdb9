using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Whale.Diagnostics;
using Whale.Engine;

namespace Whale.Cli.Commands;

/// <summary>
/// <c>whale bench</c>: llama-bench-style throughput of a GGUF model: ppN (prompt processing) and tgN (generation)
/// tokens per second per thread count, repetitions summarized as median, mean and standard deviation; plus peak
/// RSS, the machine's measured read bandwidth and the bandwidth a generation test achieved. With <c>--mtp</c>:
/// greedy generation of a chat answer with and without multi-token-prediction speculation, alternating repetitions,
/// with the drafts' acceptance rate.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CliIo io)
    {
        var model = new Option<string>("--model", "-m") { Description = "GGUF model file", Required = true };
        var threads = new Option<string>("--threads", "-t") { Description = "comma-separated thread counts", DefaultValueFactory = _ => Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture) };
        var prompt = new Option<int>("--n-prompt", "-p") { Description = "prompt tokens of the pp test (0 = skip)", DefaultValueFactory = _ => 512 };
        var gen = new Option<int>("--n-gen", "-n") { Description = "generated tokens of the tg test (0 = skip)", DefaultValueFactory = _ => 128 };
        var depth = new Option<string>("--depth", "-d") { Description = "comma-separated context depths (tokens already in the cache)", DefaultValueFactory = _ => "0" };
        var reps = new Option<int>("--reps", "-r") { Description = "repetitions per test", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "print one JSON object per test and thread count instead of a table" };
        var noProbe = new Option<bool>("--no-probe") { Description = "skip the memory-bandwidth probe" };
        var mtp = new Option<bool>("--mtp") { Description = "tg with and without MTP speculative decoding (greedy, from --mtp-prompt; no pp or depth tests)" };
        var mtpPrompt = new Option<string>("--mtp-prompt") { Description = "user message the --mtp test answers (chat template applied)", DefaultValueFactory = _ => "What is 4821 + 379?" };
        var repack = new Option<string>("--repack") { Description = "Q8_0, Q4_K, Q5_K and Q6_K weights repacked at load (row-lane kernels) or read in place (llama.cpp's bits): comma-separated on/off (each value loads the model again), or ab: both models loaded, repetitions alternated (same-run A/B)", DefaultValueFactory = _ => "on" };
        var cmd = new Command("bench", "Measure prompt-processing and generation speed (llama-bench style)")
        {
            model, threads, prompt, gen, depth, reps, json, noProbe, mtp, mtpPrompt, repack,
        };
        cmd.SetAction(r =>
        {
            string path = r.GetValue(model)!;
            var threadList = ParseList(r.GetValue(threads)!, "--threads", min: 1);
            var depthList = ParseList(r.GetValue(depth)!, "--depth", min: 0);
            int p = r.GetValue(prompt), n = r.GetValue(gen), repCount = r.GetValue(reps);
            if (p < 0 || n < 0 || p == 0 && n == 0) throw new ArgumentException("nothing to measure: -p and -n are both 0 (or negative)");
            if (repCount < 1) throw new ArgumentException("--reps must be at least 1");
            if (r.GetValue(mtp))
            {
                if (n <= 0) throw new ArgumentException("--mtp measures generation: -n must be at least 1");
                RunMtp(io, path, threadList, n, repCount, r.GetValue(mtpPrompt)!, r.GetValue(json));
                return 0;
            }
            var tests = new List<BenchmarkTest>();
            foreach (int d in depthList)
            {
                if (p > 0) tests.Add(new BenchmarkTest(p, 0, d));
                if (n > 0) tests.Add(new BenchmarkTest(0, n, d));
            }
            if (r.GetValue(repack) == "ab")
            {
                RunRepackAb(io, path, threadList, tests, repCount, !r.GetValue(noProbe));
                return 0;
            }
            var repackList = ParseSwitches(r.GetValue(repack)!, "--repack");
            Run(io, path, threadList, repackList, tests, repCount, r.GetValue(json), !r.GetValue(noProbe));
            return 0;
        });
        cmd.Subcommands.Add(CreateServe(io));
        return cmd;
    }

    /// <summary><c>whale bench serve</c>: a load generator against the serving engine (in process), one row per concurrency.</summary>
    private static Command CreateServe(CliIo io)
    {
        var model = new Option<string>("--model", "-m") { Description = "GGUF model file", Required = true };
        var threads = new Option<int?>("--threads", "-t") { Description = "worker threads (default: all cores)" };
        var concurrency = new Option<string>("--concurrency", "-c") { Description = "comma-separated requests in flight", DefaultValueFactory = _ => "1,4,8" };
        var requests = new Option<int>("--requests") { Description = "requests per level (default 2 x concurrency, at least 4)", DefaultValueFactory = _ => 0 };
        var prompt = new Option<int>("--prompt-tokens", "-p") { Description = "prompt tokens per request", DefaultValueFactory = _ => 128 };
        var shared = new Option<int>("--shared-prefix") { Description = "leading prompt tokens shared by all requests", DefaultValueFactory = _ => 0 };
        var gen = new Option<int>("--gen", "-n") { Description = "tokens generated per request", DefaultValueFactory = _ => 32 };
        var engineKind = new Option<string>("--engine") { Description = "continuous, serial or both", DefaultValueFactory = _ => "both" };
        var maxSeqs = new Option<int>("--max-seqs") { Description = "continuous: sequences batched at once (serial: --parallel = the level's concurrency)", DefaultValueFactory = _ => 16 };
        var batchTokens = new Option<int>("--batch-tokens") { Description = "continuous: most tokens per step", DefaultValueFactory = _ => 256 };
        var ctx = new Option<int>("--ctx") { Description = "context size per sequence", DefaultValueFactory = _ => 1024 };
        var noPrefixCache = new Option<bool>("--no-prefix-cache") { Description = "continuous: prefix caching off (every prompt prefilled in full)" };
        var rate = new Option<double>("--request-rate") { Description = "conversations started per second, Poisson arrivals (0: closed loop, -c always in flight); -c caps those in flight", DefaultValueFactory = _ => 0 };
        var turns = new Option<int>("--turns") { Description = "requests per conversation: each turn's prompt = the previous prompt + its answer + --turn-tokens new tokens", DefaultValueFactory = _ => 1 };
        var turnTokens = new Option<int>("--turn-tokens") { Description = "new user tokens per follow-up turn", DefaultValueFactory = _ => 32 };
        var seed = new Option<int>("--seed") { Description = "seed of prompts and arrivals", DefaultValueFactory = _ => 1 };
        var cmd = new Command("serve", "Load-test the serving engine: throughput, TTFT, TPOT, ITL, end-to-end latency and cache-hit rate per concurrency")
        {
            model, threads, concurrency, requests, prompt, shared, gen, engineKind, maxSeqs, batchTokens, ctx, noPrefixCache, rate, turns, turnTokens, seed,
        };
        cmd.SetAction(r =>
        {
            string path = r.GetValue(model)!;
            var levels = ParseList(r.GetValue(concurrency)!, "--concurrency", min: 1);
            string kind = r.GetValue(engineKind)!;
            if (kind is not ("continuous" or "serial" or "both")) throw new ArgumentException("--engine must be continuous, serial or both");
            int p = r.GetValue(prompt), n = r.GetValue(gen), sp = r.GetValue(shared), c = r.GetValue(ctx);
            var shape = new ServeWorkload
            {
                PromptTokens = p, SharedPrefixTokens = sp, GenerateTokens = n, RequestRate = r.GetValue(rate),
                Turns = r.GetValue(turns), TurnTokens = r.GetValue(turnTokens), Seed = r.GetValue(seed),
            };
            if (shape.LongestSequence >= c) throw new ArgumentException($"the last turn needs {shape.LongestSequence} tokens (prompt, answers, new turns): raise --ctx");
            using var wm = WhaleModel.Load(path, new ModelOptions { Threads = r.GetValue(threads) ?? Environment.ProcessorCount, ContextSize = c });
            string arrivals = shape.RequestRate > 0 ? string.Create(CultureInfo.InvariantCulture, $"Poisson arrivals {shape.RequestRate:G3}/s") : "closed loop";
            string multi = shape.Turns > 1 ? $", {shape.Turns} turns (+{shape.TurnTokens} tokens each)" : "";
            io.Out.WriteLine($"{Path.GetFileName(path)}: prompt {p} tokens ({sp} shared), {n} generated{multi}, {arrivals}, ctx {c}, {wm.Options.Threads} threads{(r.GetValue(noPrefixCache) ? ", prefix cache off" : "")}");
            io.Out.WriteLine("| engine | concurrency | requests | gen tok/s | req/s | TTFT p50 / p90 / p99 ms | TPOT p50 / p90 ms | ITL p50 / p90 / p99 ms | E2E p50 / p90 ms | cache hit | tokens/step |");
            io.Out.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
            var kinds = kind == "both" ? new[] { "serial", "continuous" } : [kind];
            foreach (var k in kinds)
            {
                foreach (int level in levels)
                {
                    int count = r.GetValue(requests) is > 0 and var given ? given : Math.Max(4, 2 * level);
                    IInferenceEngine engine = k == "continuous"
                        ? new ContinuousEngine(wm, new ContinuousEngineOptions { MaxSequences = r.GetValue(maxSeqs), MaxBatchTokens = r.GetValue(batchTokens), ContextSize = c, MaxWaiting = 100_000, PrefixCaching = !r.GetValue(noPrefixCache) })
                        : new SerialEngine(wm, new SerialEngineOptions { Parallel = level, ContextSize = c, MaxWaiting = 100_000 });
                    try
                    {
                        var res = ServeBenchmark.RunAsync(engine, wm, shape with { Concurrency = level, Requests = count }).GetAwaiter().GetResult();
                        io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"| {k} | {level} | {res.Requests} | {res.GeneratedPerSecond:F2} | {res.RequestsPerSecond:F3} | {res.Ttft.P50:F0} / {res.Ttft.P90:F0} / {res.Ttft.P99:F0} | {res.Tpot.P50:F0} / {res.Tpot.P90:F0} | {res.Itl.P50:F0} / {res.Itl.P90:F0} / {res.Itl.P99:F0} | {res.E2e.P50:F0} / {res.E2e.P90:F0} | {res.CacheHitRate:P0} | {(res.MeanBatchTokens > 0 ? res.MeanBatchTokens.ToString("F1", CultureInfo.InvariantCulture) : "")} |"));
                        io.Out.Flush();
                    }
                    finally
                    {
                        engine.DisposeAsync().AsTask().GetAwaiter().GetResult();
                    }
                }
            }
            return 0;
        });
        return cmd;
    }

    private static void Run(CliIo io, string path, IReadOnlyList<int> threadList, IReadOnlyList<bool> repackList, IReadOnlyList<BenchmarkTest> tests, int reps, bool json, bool probe)
    {
        int ctx = tests.Max(t => t.ContextNeeded);
        // prompts in one batch; a depth is filled in batches of up to 512 (one token at a time it took minutes)
        int batch = Math.Max(1, Math.Max(tests.Max(t => t.Prompt), Math.Min(512, tests.Max(t => t.Depth))));
        if (!json)
        {
            io.Out.WriteLine($"| model | size | params | threads | test | t/s (median) | mean ± sd | read GB/s | % of probe |");
            io.Out.WriteLine("|---|---|---|---|---|---|---|---|---|");
        }
        foreach (int threads in threadList)
        foreach (bool repack in repackList)
        {
            using var wm = WhaleModel.Load(path, new ModelOptions { Threads = threads, ContextSize = ctx, BatchSize = batch, RepackWeights = repack });
            double probeBps = probe ? BandwidthProbe.Measure(threads) : 0;
            long size = 0, parameters = 0;
            foreach (var t in wm.File.Tensors) { size += t.ByteSize; parameters += t.ElementCount; }
            var bench = new ModelBenchmark(wm.Model, ctx);
            bench.WarmUp();
            string name = Path.GetFileName(path) + (repackList.Count > 1 ? (repack ? " (repacked)" : " (in place)") : "");
            foreach (var test in tests)
            {
                long bytesPerToken = test.Generate > 0 ? bench.BytesPerGeneratedToken(wm.File, test) : 0;
                var (stats, testProbe, fraction) = probe && test.Generate > 0
                    ? RunNextToProbes(bench, test, reps, threads, bytesPerToken)
                    : (bench.Run(test, reps), probeBps, 0.0);
                double achieved = bytesPerToken * stats.Median;
                long rss = ProcessMemory.PeakRss();
                if (json)
                {
                    io.Out.WriteLine(Json(name, size, parameters, threads, test, stats, bytesPerToken, achieved, testProbe, fraction, rss));
                    continue;
                }
                string bw = test.Generate > 0 ? (achieved / 1e9).ToString("F2", CultureInfo.InvariantCulture) : "";
                string pct = fraction > 0 ? (100 * fraction).ToString("F0", CultureInfo.InvariantCulture) + "%" : "";
                io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {size / 1e9:F2} GB | {parameters / 1e9:F2} B | {threads} | {test.Name} | {stats.Median:F2} | {stats.Mean:F2} ± {stats.StdDev:F2} | {bw} | {pct} |"));
            }
            if (!json)
            {
                string probeText = probe ? string.Create(CultureInfo.InvariantCulture, $"{probeBps / 1e9:F1} GB/s") : "not measured";
                io.Err.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"threads {threads}, repack {(repack ? "on" : "off")}: read-bandwidth probe {probeText}; peak RSS {ProcessMemory.PeakRss() / 1e9:F2} GB, RSS now {ProcessMemory.CurrentRss() / 1e9:F2} GB (file {new FileInfo(path).Length / 1e9:F2} GB, KV cache {bench.KvBytesPerPosition * (long)ctx / 1e6:F1} MB)"));
            }
        }
    }

    /// <summary>
    /// Same-run A/B of load-time repacking: the model loaded twice (repacked, in place), repetitions alternated
    /// (A B, B A, ...) so that both see the same machine load; medians, the ratio and the achieved read bandwidth.
    /// </summary>
    private static void RunRepackAb(CliIo io, string path, IReadOnlyList<int> threadList, IReadOnlyList<BenchmarkTest> tests, int reps, bool probe)
    {
        int ctx = tests.Max(t => t.ContextNeeded);
        // prompts in one batch; a depth is filled in batches of up to 512 (one token at a time it took minutes)
        int batch = Math.Max(1, Math.Max(tests.Max(t => t.Prompt), Math.Min(512, tests.Max(t => t.Depth))));
        io.Out.WriteLine("| model | threads | test | repacked t/s (median) | in place t/s (median) | repacked / in place | repacked read GB/s | in place read GB/s | probe GB/s |");
        io.Out.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (int threads in threadList)
        {
            using var a = WhaleModel.Load(path, new ModelOptions { Threads = threads, ContextSize = ctx, BatchSize = batch, RepackWeights = true });
            using var b = WhaleModel.Load(path, new ModelOptions { Threads = threads, ContextSize = ctx, BatchSize = batch, RepackWeights = false });
            var ba = new ModelBenchmark(a.Model, ctx);
            var bb = new ModelBenchmark(b.Model, ctx);
            ba.WarmUp();
            bb.WarmUp();
            double probeBps = probe ? BandwidthProbe.Measure(threads) : 0;
            foreach (var test in tests)
            {
                var sa = new double[reps];
                var sb = new double[reps];
                for (int i = 0; i < reps; i++)
                {
                    // A B, then B A: neither side always runs first
                    if (i % 2 == 0) { sa[i] = ba.RunOnce(test); sb[i] = bb.RunOnce(test); }
                    else { sb[i] = bb.RunOnce(test); sa[i] = ba.RunOnce(test); }
                }
                var ma = new BenchmarkStats(sa).Median;
                var mb = new BenchmarkStats(sb).Median;
                long bytes = test.Generate > 0 ? ba.BytesPerGeneratedToken(a.File, test) : 0;
                string bwa = bytes > 0 ? (bytes * ma / 1e9).ToString("F2", CultureInfo.InvariantCulture) : "";
                string bwb = bytes > 0 ? (bytes * mb / 1e9).ToString("F2", CultureInfo.InvariantCulture) : "";
                string pr = probeBps > 0 ? (probeBps / 1e9).ToString("F1", CultureInfo.InvariantCulture) : "";
                io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {Path.GetFileName(path)} | {threads} | {test.Name} | {ma:F2} | {mb:F2} | {ma / mb:F2} | {bwa} | {bwb} | {pr} |"));
            }
        }
        io.Err.WriteLine($"load average at the end: {ReadLoadAverage()}");
    }

    private static string ReadLoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "n/a"; }
        catch (UnauthorizedAccessException) { return "n/a"; }
    }

    /// <summary>tg with and without MTP speculation, alternating plain and speculative repetitions per thread count.</summary>
    private static void RunMtp(CliIo io, string path, IReadOnlyList<int> threadList, int n, int reps, string question, bool json)
    {
        if (!json)
        {
            io.Out.WriteLine("| model | threads | test | plain t/s (median) | MTP t/s (median) | speedup | drafts accepted | same tokens |");
            io.Out.WriteLine("|---|---|---|---|---|---|---|---|");
        }
        foreach (int threads in threadList)
        {
            using var wm = WhaleModel.Load(path, new ModelOptions { Threads = threads });
            if (wm.Model is not Whale.Models.IMtpModel { HasMtp: true } m)
                throw new ArgumentException($"--mtp: {Path.GetFileName(path)} has no MTP block");
            int[] prompt;
            try { prompt = wm.TokenizeChat([new Whale.Tokenization.ChatMessage(Whale.Tokenization.ChatRole.User, question)]); }
            catch (NotSupportedException) { prompt = wm.Tokenizer.Encode(question, addSpecial: true, parseSpecial: false); }
            var bench = new SpeculativeBenchmark(m, prompt.Length + n + 2, wm.Options.BatchSize);
            bench.Run(prompt, Math.Min(n, 8), speculate: false);                 // warm-up (page-in, JIT)
            bench.Run(prompt, Math.Min(n, 8), speculate: true);
            var plain = new double[reps];
            var spec = new double[reps];
            SpeculationStats stats = new();
            bool same = true;
            for (int i = 0; i < reps; i++)
            {
                var a = bench.Run(prompt, n, speculate: false);
                var b = bench.Run(prompt, n, speculate: true);
                plain[i] = a.TokensPerSecond;
                spec[i] = b.TokensPerSecond;
                stats = b.Stats;
                same &= a.Tokens.SequenceEqual(b.Tokens);
            }
            var ps = new BenchmarkStats(plain);
            var ss = new BenchmarkStats(spec);
            string name = Path.GetFileName(path);
            if (json)
            {
                io.Out.WriteLine(MtpJson(name, threads, prompt.Length, n, ps, ss, stats, same));
                continue;
            }
            var (stepS, verifyS, draftS) = bench.MeasureCalls(prompt, Math.Max(5, 4 * reps));
            io.Err.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"threads {threads}: per call (median) one-token step {stepS * 1e6:F0} us, two-token verify {verifyS * 1e6:F0} us ({verifyS / stepS:F2}x), MTP draft {draftS * 1e6:F0} us ({draftS / stepS:F2}x): speculation pays above {100 * Math.Max(0, (verifyS + draftS) / stepS - 1):F0}% acceptance"));
            io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {threads} | tg{n} (prompt {prompt.Length}) | {ps.Median:F2} ± {ps.StdDev:F2} | {ss.Median:F2} ± {ss.StdDev:F2} | {ss.Median / ps.Median:F2}x | {stats.Accepted}/{stats.Drafted} ({stats.AcceptanceRate:P1}) | {(same ? "yes" : "NO")} |"));
            io.Out.Flush();
        }
    }

    private static string MtpJson(string model, int threads, int promptTokens, int n, BenchmarkStats plain, BenchmarkStats spec, SpeculationStats stats, bool same)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("engine", "whale");
            w.WriteString("model", model);
            w.WriteString("test", $"tg{n}-mtp");
            w.WriteNumber("threads", threads);
            w.WriteNumber("n_prompt", promptTokens);
            w.WriteNumber("n_gen", n);
            w.WriteNumber("reps", plain.Samples.Count);
            w.WriteNumber("plain_tokens_per_second", Math.Round(plain.Median, 4));
            w.WriteNumber("mtp_tokens_per_second", Math.Round(spec.Median, 4));
            w.WriteStartArray("plain_samples");
            foreach (var x in plain.Samples) w.WriteNumberValue(Math.Round(x, 4));
            w.WriteEndArray();
            w.WriteStartArray("mtp_samples");
            foreach (var x in spec.Samples) w.WriteNumberValue(Math.Round(x, 4));
            w.WriteEndArray();
            w.WriteNumber("drafted", stats.Drafted);
            w.WriteNumber("accepted", stats.Accepted);
            w.WriteNumber("acceptance_rate", Math.Round(stats.AcceptanceRate, 4));
            w.WriteBoolean("same_tokens", same);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>
    /// <paramref name="reps"/> runs of a generation test, each right after a bandwidth probe: the machine's bandwidth
    /// drifts by 10-25 % over minutes on shared hosts, so each run is compared with the probe taken next to it. Returns
    /// the runs, the median probe and the median of the runs' read bandwidth / their probe.
    /// </summary>
    private static (BenchmarkStats Stats, double Probe, double Fraction) RunNextToProbes(ModelBenchmark bench, BenchmarkTest test, int reps, int threads, long bytesPerToken)
    {
        var samples = new double[reps];
        var probes = new double[reps];
        var fractions = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            probes[r] = BandwidthProbe.Measure(threads);
            samples[r] = bench.RunOnce(test);
            fractions[r] = bytesPerToken * samples[r] / probes[r];
        }
        return (new BenchmarkStats(samples), new BenchmarkStats(probes).Median, new BenchmarkStats(fractions).Median);
    }

    private static string Json(string model, long size, long parameters, int threads, BenchmarkTest test, BenchmarkStats stats,
        long bytesPerToken, double achieved, double probeBps, double fraction, long rss)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("engine", "whale");
            w.WriteString("model", model);
            w.WriteNumber("model_size", size);
            w.WriteNumber("model_params", parameters);
            w.WriteString("test", test.Name);
            w.WriteNumber("threads", threads);
            w.WriteNumber("n_prompt", test.Prompt);
            w.WriteNumber("n_gen", test.Generate);
            w.WriteNumber("n_depth", test.Depth);
            w.WriteNumber("reps", stats.Samples.Count);
            w.WriteNumber("tokens_per_second", Math.Round(stats.Median, 4));
            w.WriteNumber("mean", Math.Round(stats.Mean, 4));
            w.WriteNumber("stddev", Math.Round(stats.StdDev, 4));
            w.WriteStartArray("samples");
            foreach (var s in stats.Samples) w.WriteNumberValue(Math.Round(s, 4));
            w.WriteEndArray();
            if (test.Generate > 0)
            {
                w.WriteNumber("bytes_per_token", bytesPerToken);
                w.WriteNumber("achieved_bytes_per_second", Math.Round(achieved));
            }
            if (probeBps > 0) w.WriteNumber("probe_bytes_per_second", Math.Round(probeBps));
            if (fraction > 0) w.WriteNumber("fraction_of_probe", Math.Round(fraction, 4));
            w.WriteNumber("peak_rss_bytes", rss);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    private static List<bool> ParseSwitches(string text, string option)
    {
        var list = new List<bool>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            list.Add(part switch
            {
                "on" => true,
                "off" => false,
                _ => throw new ArgumentException($"{option}: '{part}' is neither on nor off"),
            });
        if (list.Count == 0) throw new ArgumentException($"{option}: empty list");
        return list;
    }

    private static List<int> ParseList(string text, string option, int min)
    {
        var list = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min)
                throw new ArgumentException($"{option}: '{part}' is not an integer >= {min}");
            list.Add(v);
        }
        if (list.Count == 0) throw new ArgumentException($"{option}: empty list");
        return list;
    }
}
