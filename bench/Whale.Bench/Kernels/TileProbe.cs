using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Whale.Diagnostics;
using Whale.Gguf;
using Whale.Kernels.Quant;

namespace Whale.Bench.Kernels;

/// <summary>
/// <c>tiles</c>: one thread, the row-dot loop vs the tiled kernels (512-bit and 256-bit) on the same converted
/// activations, repetitions alternating, GMAC/s from the thread's CPU time (so other processes on a shared machine
/// slow neither side down), and every tile output checked bit for bit against the row dot. A quick, noise-robust
/// complement to <see cref="TileBenchmarks"/>. The "row dots" side is WeightMatrix.MatMul with one activation row at
/// a time, which for Q4_K/Q5_K/Q6_K is <see cref="GemvKQuants"/> (bit-identical to the row dots, faster); the
/// plain row dots of those types are measured by <c>gemv</c> (<see cref="GemvProbe"/>).
/// </summary>
internal static unsafe class TileProbe
{
    public static int Run(string[] args)
    {
        var types = ProbeArgs.Types(args, 0, "Q4_K,Q6_K,F32,F16,BF16,Q5_0,Q4_0");
        var shapes = ProbeArgs.Shapes(args, 1, "1536x1536,8960x1536");
        var batches = ProbeArgs.Ints(args, 2, "16,512");
        int reps = ProbeArgs.Int(args, 3, 5);
        Console.WriteLine($"one thread; GMAC/s = rows*cols*batch / thread CPU time, median of {reps} alternating repetitions after one warm-up; load {ProbeArgs.Load()}");
        Console.WriteLine("| type | rows x cols | batch | row dots | tiles 512 | tiles 256 | tiles 512 / row dots |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var type in types)
            foreach (var (rows, cols) in shapes)
            {
                using var tm = new TestMatrix(type, cols, rows);
                var m = tm.Matrix;
                foreach (int batch in batches)
                {
                    var x = TestMatrix.RandomActivations(batch * cols);
                    var qx = new byte[batch * m.ActivationRowBytes];
                    m.ConvertActivations(x, batch, qx);
                    var y0 = new float[batch * rows];
                    var y1 = new float[batch * rows];
                    int arb = (int)m.ActivationRowBytes;
                    double macs = (double)rows * cols * batch;
                    var t = new[] { new List<double>(), new List<double>(), new List<double>() };
                    for (int rep = -1; rep < reps; rep++)      // rep -1: warm-up (JIT tiers), not counted
                        for (int v = 0; v < 3; v++)
                        {
                            double c0 = ThreadClock.CpuSeconds();
                            if (v == 0)
                                for (int b = 0; b < batch; b++) m.MatMul(qx.AsSpan(b * arb, arb), 1, y0.AsSpan(b * rows, rows), 0, rows, batchOrder: true);
                            else
                                fixed (byte* pq = qx)
                                fixed (float* py = y1)
                                    if (!Tiles.TryMatMul(type, m.Data, m.RowBytes, 0, rows, pq, arb, batch, cols, py, rows, true, v == 1 ? TileIsa.Avx512 : TileIsa.Avx2))
                                        throw new InvalidOperationException($"no tiled kernel for {type} {(v == 1 ? TileIsa.Avx512 : TileIsa.Avx2)}");
                            if (rep >= 0) t[v].Add(macs / (ThreadClock.CpuSeconds() - c0) / 1e9);
                            if (v > 0)
                                for (int i = 0; i < y0.Length; i++)
                                    if (BitConverter.SingleToInt32Bits(y0[i]) != BitConverter.SingleToInt32Bits(y1[i]))
                                        throw new InvalidOperationException($"{type}: tile output {i} differs from the row dot");
                        }
                    double r = Percentiles.Of(t[0]).P50, a = Percentiles.Of(t[1]).P50, b2 = Percentiles.Of(t[2]).P50;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {type} | {rows} x {cols} | {batch} | {r:F1} | {a:F1} | {b2:F1} | {a / r:F1} |"));
                }
            }
        Console.WriteLine($"load after: {ProbeArgs.Load()}");
        return 0;
    }
}
