using System.Diagnostics;
using System.Globalization;
using Whale.Engine;
using Whale.Gguf;
using Whale.Kernels;

namespace Whale.Bench.Kernels;

/// <summary>
/// <c>decode-profile</c>: the weight products of one decode step of a GGUF model, alone: every 2-D weight a
/// forward uses (blk.*.attn_q/k/v/output, ffn_gate/up/down, output) multiplied with one random activation row
/// through <see cref="WeightMatrix.MatMul(WorkerPool, ReadOnlySpan{float}, int, Span{float}, Span{byte})"/> (activation
/// conversion included) in forward order, so the weights come from memory as in generation. Prints ms per step
/// and GB/s per tensor role and type; compare the total with the tg time of <c>whale bench</c> to see what the
/// rest of the step costs.
/// </summary>
internal static unsafe class DecodeProfile
{
    private static readonly string[] Roles = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"];

    public static int Run(string[] args)
    {
        if (args.Length < 1)
        {
            Console.Error.WriteLine("usage: Whale.Bench decode-profile MODEL.gguf [threads 1] [steps 8]");
            return 2;
        }
        int threads = ProbeArgs.Int(args, 1, 1);
        int steps = ProbeArgs.Int(args, 2, 8);
        using var file = GgufFile.Open(args[0]);
        using var pool = new WorkerPool(threads);
        // one thread: the thread's CPU time (robust on a shared machine); more: wall time
        Func<double> Clock = threads == 1 ? ThreadClock.CpuSeconds : () => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
        var list = new List<(string Key, WeightMatrix W)>();
        int layers = file.GetInt32($"{file.Architecture}.block_count", 0);
        for (int l = 0; l < layers; l++)
            foreach (var role in Roles)
                if (file.TryGetTensor($"blk.{l}.{role}.weight", out var t)) list.Add((role, Wrap(file, t)));
        if (file.TryGetTensor("output.weight", out var o)) list.Add(("output", Wrap(file, o)));
        int maxCols = list.Max(e => e.W.Cols), maxRows = list.Max(e => e.W.Rows);
        var x = TestMatrix.RandomActivations(maxCols);
        var y = new float[maxRows];
        var scratch = new byte[list.Max(e => e.W.ActivationRowBytes)];
        var time = new Dictionary<string, double>();
        var bytes = new Dictionary<string, double>();
        var steps_ = new List<double>();
        Console.WriteLine($"{Path.GetFileName(args[0])}: {threads} thread(s), {steps} steps after one warm-up, {(threads == 1 ? "thread CPU time" : "wall time")}; load {ProbeArgs.Load()}");
        for (int s = -1; s < steps; s++)
        {
            double step0 = Clock();
            foreach (var (key, w) in list)
            {
                double t0 = Clock();
                w.MatMul(pool, x.AsSpan(0, w.Cols), 1, y.AsSpan(0, w.Rows), scratch);
                double dt = Clock() - t0;
                if (s < 0) continue;
                string k = $"{key} {w.Type}";
                time[k] = time.GetValueOrDefault(k) + dt;
                bytes[k] = bytes.GetValueOrDefault(k) + w.RowBytes * w.Rows;
            }
            if (s >= 0) steps_.Add(Clock() - step0);
        }
        Console.WriteLine("| tensors | ms per step | GB/s |");
        Console.WriteLine("|---|---|---|");
        foreach (var k in time.Keys.OrderByDescending(k => time[k]))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {k} | {time[k] / steps * 1e3:F1} | {bytes[k] / time[k] / 1e9:F2} |"));
        steps_.Sort();
        double total = bytes.Values.Sum() / steps;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| all products (median step) | {steps_[steps_.Count / 2] * 1e3:F1} | {total / steps_[steps_.Count / 2] / 1e9:F2} |"));
        // Q8_K/Q8_0 conversion of the inputs of one step (products sharing an input convert it once in the model)
        var conv = new List<double>();
        for (int s = 0; s < steps; s++)
        {
            double t0 = Clock();
            foreach (var (key, w) in list)
                if (key is not ("attn_k" or "attn_v" or "ffn_up"))
                    w.ConvertActivations(x.AsSpan(0, w.Cols), 1, scratch);
            conv.Add(Clock() - t0);
        }
        conv.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| activation conversions of a step (median) | {conv[conv.Count / 2] * 1e3:F1} | |"));
        if (threads > 1)
        {
            int runs = list.Count + 2 * layers;    // products + the two attention jobs per layer
            double t0 = Clock();
            for (int s = 0; s < steps; s++)
                for (int i = 0; i < runs; i++) pool.Run(&Empty, null);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {runs} empty pool jobs (one step's count, mean) | {(Clock() - t0) / steps * 1e3:F2} | |"));
        }
        Step(args[0], threads, steps, Clock);
        Console.WriteLine($"load after: {ProbeArgs.Load()}");
        return 0;
    }

    /// <summary>Whole decode steps of the model (16-token prompt first), same clock: what the products leave to the rest.</summary>
    private static void Step(string path, int threads, int steps, Func<double> clock)
    {
        using var wm = WhaleModel.Load(path, new ModelOptions { Threads = threads, ContextSize = 64 + steps });
        var model = wm.Model;
        var cache = model.CreateCache(64 + steps);
        var logits = new float[model.Config.VocabSize];
        var rng = new Random(3);
        var prompt = new int[16];
        for (int i = 0; i < prompt.Length; i++) prompt[i] = rng.Next(model.Config.VocabSize);
        model.Forward(prompt, cache, logits);
        var t = new List<double>();
        for (int s = -1; s < steps; s++)
        {
            int[] token = [rng.Next(model.Config.VocabSize)];
            double t0 = clock();
            model.Forward(token, cache, logits);
            if (s >= 0) t.Add(clock() - t0);
        }
        t.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| whole decode step (median) | {t[t.Count / 2] * 1e3:F1} | |"));
    }

    private static void Empty(void* state, int index, int count) { }

    private static WeightMatrix Wrap(GgufFile file, GgufTensorInfo t)
        => new(t.Type, file.GetTensorData(t), (int)t.Dim(0), (int)(t.ElementCount / t.Dim(0)));
}
