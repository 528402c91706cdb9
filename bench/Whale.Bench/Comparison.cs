using System.Globalization;
using LLama.Native;
using Whale.Diagnostics;
using Whale.Engine;

namespace Whale.Bench;

/// <summary>
/// Whale and llama.cpp on the same file with the same thread count in one process: warm-up of both, then the
/// repetitions of each test alternate between the engines (ABBA order) so machine noise hits both; prints a
/// markdown table of medians and the Whale/llama.cpp ratio.
/// </summary>
internal static class Comparison
{
    public static int Run(string[] args)
    {
        string? model = null;
        var threads = new List<int> { Environment.ProcessorCount };
        int p = 512, n = 128, reps = 3;
        var depths = new List<int> { 0 };
        var fa = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_AUTO;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "-m" or "--model": model = Next(); break;
                case "-t" or "--threads": threads = ParseList(Next()); break;
                case "-p" or "--n-prompt": p = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "-n" or "--n-gen": n = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "-r" or "--reps": reps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "-d" or "--depth": depths = ParseList(Next()); break;
                case "-fa" or "--flash-attn":
                    fa = Next() switch
                    {
                        "on" or "1" => LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_ENABLED,
                        "off" or "0" => LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED,
                        _ => LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_AUTO,
                    };
                    break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        if (model is null) throw new ArgumentException("compare needs --model FILE");
        var tests = new List<BenchmarkTest>();
        foreach (int d in depths)
        {
            if (p > 0) tests.Add(new BenchmarkTest(p, 0, d));
            if (n > 0) tests.Add(new BenchmarkTest(0, n, d));
        }
        int ctx = tests.Max(t => t.ContextNeeded) + 16;
        int batch = Math.Max(512, p);

        Console.WriteLine($"model: {Path.GetFileName(model)} ({new FileInfo(model).Length / 1e9:F2} GB); reps {reps}; llama.cpp flash attention {fa}; F16 KV cache");
        Console.WriteLine($"llama.cpp: LLamaSharp 0.30.0 CPU backend; {LlamaCppRunner.SystemInfo()}");
        Console.WriteLine();
        Console.WriteLine("| test | threads | Whale t/s | llama.cpp t/s | Whale / llama.cpp | Whale read GB/s | probe GB/s | % of probe |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (int t in threads)
        {
            using var whale = WhaleModel.Load(model, new ModelOptions { Threads = t, ContextSize = ctx, BatchSize = batch });
            var wb = new ModelBenchmark(whale.Model, ctx);
            using var llama = new LlamaCppRunner(model, t, ctx, batch, fa);
            wb.WarmUp();
            llama.WarmUp();
            foreach (var test in tests)
            {
                var ws = new double[reps];
                var ls = new double[reps];
                // generation is compared with the bandwidth probe taken right before each of its repetitions: this
                // machine's bandwidth drifts by 10-25 % over minutes, so one probe per run says more about when it ran
                var ps = new double[reps];
                bool gen = test.Generate > 0;
                for (int r = 0; r < reps; r++)
                {
                    if (r % 2 == 0)
                    {
                        if (gen) ps[r] = BandwidthProbe.Measure(t);
                        ws[r] = wb.RunOnce(test);
                        ls[r] = llama.RunOnce(test);
                    }
                    else
                    {
                        ls[r] = llama.RunOnce(test);
                        if (gen) ps[r] = BandwidthProbe.Measure(t);
                        ws[r] = wb.RunOnce(test);
                    }
                }
                var w = new BenchmarkStats(ws);
                var l = new BenchmarkStats(ls);
                string bw = "", probe = "", pct = "";
                if (gen)
                {
                    long bytes = wb.BytesPerGeneratedToken(whale.File, test);
                    bw = (bytes * w.Median / 1e9).ToString("F2", CultureInfo.InvariantCulture);
                    probe = ps.Min() == ps.Max()
                        ? (ps[0] / 1e9).ToString("F1", CultureInfo.InvariantCulture)
                        : string.Create(CultureInfo.InvariantCulture, $"{ps.Min() / 1e9:F1}-{ps.Max() / 1e9:F1}");
                    var ratios = ws.Select((x, r) => bytes * x / ps[r]).ToList();
                    pct = (100 * new BenchmarkStats(ratios).Median).ToString("F0", CultureInfo.InvariantCulture) + "%";
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {test.Name} | {t} | {w.Median:F2} ± {w.StdDev:F2} | {l.Median:F2} ± {l.StdDev:F2} | {w.Median / l.Median:F2} | {bw} | {probe} | {pct} |"));
            }
        }
        Console.WriteLine();
        Console.WriteLine($"peak RSS of the process (both engines): {ProcessMemory.PeakRss() / 1e9:F2} GB");
        return 0;
    }

    private static List<int> ParseList(string s) =>
        s.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToList();
}
