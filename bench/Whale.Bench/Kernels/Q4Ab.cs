using System.Globalization;
using Whale.Diagnostics;
using Whale.Gguf;
using Whale.Kernels;
using Whale.Kernels.Quant;

namespace Whale.Bench.Kernels;

/// <summary>Throwaway: the Q4_K repacked kernel before (Q4Old) and now (TileQ4_KRepacked), one thread, alternating, medians of thread CPU time.</summary>
internal static unsafe class Q4Ab
{
    public static int Run(string[] args)
    {
        var shapes = (args.Length > 0 ? args[0] : "1536x1536,8960x1536,1536x8960").Split(',')
            .Select(s => s.Split('x')).Select(p => (Rows: int.Parse(p[0], CultureInfo.InvariantCulture), Cols: int.Parse(p[1], CultureInfo.InvariantCulture))).ToArray();
        int[] batches = args.Length > 1 ? args[1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() : [1, 16, 64, 512];
        int reps = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 7;

        Console.WriteLine($"load {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("| rows x cols | batch | old GMAC/s | new GMAC/s | new/old | bits equal |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (rows, cols) in shapes)
        {
            using var tm = new TestMatrix(GgmlType.Q4_K, cols, rows);
            using var w = Q4_KRepacked.Create(tm.Matrix.Data, tm.Matrix.RowBytes, rows, cols);
            foreach (int batch in batches)
            {
                var qx = new byte[batch * tm.Matrix.ActivationRowBytes];
                tm.Matrix.ConvertActivations(TestMatrix.RandomActivations(batch * cols), batch, qx);
                var y0 = new float[batch * rows];
                var y1 = new float[batch * rows];
                double macs = (double)rows * cols * batch;
                int passes = (int)Math.Max(1, 1e9 / macs);
                var t = new[] { new List<double>(), new List<double>() };
                fixed (byte* a = qx)
                fixed (float* p0 = y0)
                fixed (float* p1 = y1)
                {
                    long arb = tm.Matrix.ActivationRowBytes;
                    for (int rep = -1; rep < reps; rep++)
                        for (int v = 0; v < 2; v++)
                        {
                            double c0 = ThreadClock.CpuSeconds();
                            for (int p = 0; p < passes; p++)
                            {
                                if (v == 0) Q4Old.MatMul(w, 0, rows, a, arb, batch, p0, rows);
                                else TileQ4_KRepacked.MatMul(w, 0, rows, a, arb, batch, p1, rows);
                            }
                            if (rep >= 0) t[v].Add(ThreadClock.CpuSeconds() - c0);
                        }
                }
                bool eq = y0.AsSpan().SequenceEqual(y1);
                double o = Percentiles.Of(t[0]).P50, n = Percentiles.Of(t[1]).P50;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {rows} x {cols} | {batch} | {macs * passes / o / 1e9:F1} | {macs * passes / n / 1e9:F1} | {o / n:F3} | {eq} |"));
            }
        }
        Console.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }
}
