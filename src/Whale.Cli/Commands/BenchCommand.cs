using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Whale.Diagnostics;
using Whale.Engine;

namespace Whale.Cli.Commands;

/// <summary>
/// <c>whale bench</c>: llama-bench-style throughput of a GGUF model: ppN (prompt processing) and tgN (generation)
/// tokens per second per thread count, repetitions summarized as median, mean and standard deviation; plus peak
/// RSS, the machine's measured read bandwidth and the bandwidth a generation test achieved.
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
        var cmd = new Command("bench", "Measure prompt-processing and generation speed (llama-bench style)")
        {
            model, threads, prompt, gen, depth, reps, json, noProbe,
        };
        cmd.SetAction(r =>
        {
            string path = r.GetValue(model)!;
            var threadList = ParseList(r.GetValue(threads)!, "--threads", min: 1);
            var depthList = ParseList(r.GetValue(depth)!, "--depth", min: 0);
            int p = r.GetValue(prompt), n = r.GetValue(gen), repCount = r.GetValue(reps);
            if (p < 0 || n < 0 || p == 0 && n == 0) throw new ArgumentException("nothing to measure: -p and -n are both 0 (or negative)");
            if (repCount < 1) throw new ArgumentException("--reps must be at least 1");
            var tests = new List<BenchmarkTest>();
            foreach (int d in depthList)
            {
                if (p > 0) tests.Add(new BenchmarkTest(p, 0, d));
                if (n > 0) tests.Add(new BenchmarkTest(0, n, d));
            }
            Run(io, path, threadList, tests, repCount, r.GetValue(json), !r.GetValue(noProbe));
            return 0;
        });
        return cmd;
    }

    private static void Run(CliIo io, string path, IReadOnlyList<int> threadList, IReadOnlyList<BenchmarkTest> tests, int reps, bool json, bool probe)
    {
        int ctx = tests.Max(t => t.ContextNeeded);
        int batch = Math.Max(1, tests.Max(t => t.Prompt));
        if (!json)
        {
            io.Out.WriteLine($"| model | size | params | threads | test | t/s (median) | mean ± sd | read GB/s | % of probe |");
            io.Out.WriteLine("|---|---|---|---|---|---|---|---|---|");
        }
        foreach (int threads in threadList)
        {
            using var wm = WhaleModel.Load(path, new ModelOptions { Threads = threads, ContextSize = ctx, BatchSize = batch });
            double probeBps = probe ? BandwidthProbe.Measure(threads) : 0;
            long size = 0, parameters = 0;
            foreach (var t in wm.File.Tensors) { size += t.ByteSize; parameters += t.ElementCount; }
            var bench = new ModelBenchmark(wm.Model, ctx);
            bench.WarmUp();
            string name = Path.GetFileName(path);
            foreach (var test in tests)
            {
                var stats = bench.Run(test, reps);
                long bytesPerToken = test.Generate > 0 ? bench.BytesPerGeneratedToken(wm.File, test) : 0;
                double achieved = bytesPerToken * stats.Median;
                long rss = ProcessMemory.PeakRss();
                if (json)
                {
                    io.Out.WriteLine(Json(name, size, parameters, threads, test, stats, bytesPerToken, achieved, probeBps, rss));
                    continue;
                }
                string bw = test.Generate > 0 ? (achieved / 1e9).ToString("F2", CultureInfo.InvariantCulture) : "";
                string pct = test.Generate > 0 && probeBps > 0 ? (100 * achieved / probeBps).ToString("F0", CultureInfo.InvariantCulture) + "%" : "";
                io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {size / 1e9:F2} GB | {parameters / 1e9:F2} B | {threads} | {test.Name} | {stats.Median:F2} | {stats.Mean:F2} ± {stats.StdDev:F2} | {bw} | {pct} |"));
            }
            if (!json)
            {
                string probeText = probe ? string.Create(CultureInfo.InvariantCulture, $"{probeBps / 1e9:F1} GB/s") : "not measured";
                io.Err.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"threads {threads}: read-bandwidth probe {probeText}; peak RSS {ProcessMemory.PeakRss() / 1e9:F2} GB (file {new FileInfo(path).Length / 1e9:F2} GB, KV cache {bench.KvBytesPerPosition * (long)ctx / 1e6:F1} MB)"));
            }
        }
    }

    private static string Json(string model, long size, long parameters, int threads, BenchmarkTest test, BenchmarkStats stats,
        long bytesPerToken, double achieved, double probeBps, long rss)
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
            w.WriteNumber("peak_rss_bytes", rss);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
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
