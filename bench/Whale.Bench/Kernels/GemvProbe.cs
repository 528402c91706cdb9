using System.Globalization;
using Whale.Diagnostics;
using Whale.Gguf;
using Whale.Kernels.Quant;

namespace Whale.Bench.Kernels;

/// <summary>
/// <c>gemv</c>: one thread, one activation row (decode): the row-dot loop (<see cref="VecDot"/>, what WeightMatrix
/// ran before) vs <see cref="GemvKQuants"/> on the same Q8_K activations (with a batch argument of 2-4: the tiles vs
/// GemvKQuants' small-batch kernel), repetitions alternating, every output
/// checked bit for bit. "hot": one matrix, products repeated (it stays in cache); "cold": the product walks a
/// weight region of <c>coldMiB</c> (many copies of the matrix, larger than the L3), so the weights come from
/// memory as in a decode step. GMAC/s and weight GB/s from the thread's CPU time.
/// </summary>
internal static unsafe class GemvProbe
{
    public static int Run(string[] args)
    {
        var types = ProbeArgs.Types(args, 0, "Q4_K,Q6_K,Q5_K");
        var shapes = ProbeArgs.Shapes(args, 1, "1536x1536,8960x1536,1536x8960");
        int reps = ProbeArgs.Int(args, 2, 7);
        int coldMiB = ProbeArgs.Int(args, 3, 640);
        int batch = ProbeArgs.Int(args, 4, 1);
        if (batch is < 1 or > 4) throw new ArgumentException("batch must be 1-4");
        // batch 1: the row dots (VecDot, what WeightMatrix ran before) vs GemvKQuants.TryMatVec;
        // batch 2-4: the tiles (TileKQuants, 512-bit) vs GemvKQuants.TryMatMulSmall.
        var (nameA, nameB) = batch == 1 ? ("row dots", "gemv") : ("tiles", "small");
        Console.WriteLine($"one thread, batch {batch}; median of {reps} alternating repetitions after one warm-up; cold region {coldMiB} MiB; load {ProbeArgs.Load()}");
        Console.WriteLine($"| type | rows x cols | batch | mode | {nameA} GMAC/s | {nameB} GMAC/s | {nameA} weight GB/s | {nameB} weight GB/s | {nameB} / {nameA} |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var type in types)
            foreach (var (rows, cols) in shapes)
            {
                long rowBytes = GgmlTypeTraits.RowBytes(type, cols);
                int copies = (int)Math.Max(1, ((long)coldMiB << 20) / (rowBytes * rows));
                using var tm = new TestMatrix(type, cols, rows * copies);
                var m = tm.Matrix;
                var x = TestMatrix.RandomActivations(batch * cols);
                var qx = new byte[batch * m.ActivationRowBytes];
                m.ConvertActivations(x, batch, qx);
                long arb = m.ActivationRowBytes;
                var y0 = new float[batch * rows];
                var y1 = new float[batch * rows];
                foreach (bool cold in new[] { false, true })
                {
                    int passes = cold ? copies : Math.Max(1, (int)(64L * 1024 * 1024 / (rowBytes * rows)));
                    double macs = (double)rows * cols * batch * passes, bytes = (double)rowBytes * rows * passes;
                    var t = new[] { new List<double>(), new List<double>() };
                    int k = 0;
                    for (int rep = -1; rep < reps; rep++)
                        for (int v = 0; v < 2; v++)
                        {
                            double c0 = ThreadClock.CpuSeconds();
                            fixed (byte* pq = qx)
                            fixed (float* p0 = y0)
                            fixed (float* p1 = y1)
                                for (int p = 0; p < passes; p++)
                                {
                                    byte* w = m.Data + (cold ? (long)(k++ % copies) * rows * rowBytes : 0);
                                    bool ok = (batch, v) switch
                                    {
                                        (1, 0) => RowDots(type, w, rowBytes, rows, pq, cols, p0),
                                        (1, _) => GemvKQuants.TryMatVec(type, w, rowBytes, 0, rows, pq, cols, p1),
                                        (_, 0) => Tiles.TryMatMul(type, w, rowBytes, 0, rows, pq, arb, batch, cols, p0, rows, true, Tiles.BestIsa),
                                        _ => GemvKQuants.TryMatMulSmall(type, w, rowBytes, 0, rows, pq, arb, batch, cols, p1, rows),
                                    };
                                    if (!ok) throw new InvalidOperationException($"no kernel for {type} batch {batch}");
                                }
                            if (rep >= 0) t[v].Add(ThreadClock.CpuSeconds() - c0);
                        }
                    for (int i = 0; i < y0.Length; i++)
                        if (BitConverter.SingleToInt32Bits(y0[i]) != BitConverter.SingleToInt32Bits(y1[i]))
                            throw new InvalidOperationException($"{type}: {nameB} output {i} differs from {nameA}");
                    double a = Percentiles.Of(t[0]).P50, b = Percentiles.Of(t[1]).P50;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {type} | {rows} x {cols} | {batch} | {(cold ? "cold" : "hot")} | {macs / a / 1e9:F1} | {macs / b / 1e9:F1} | {bytes / a / 1e9:F2} | {bytes / b / 1e9:F2} | {a / b:F2} |"));
                }
            }
        Console.WriteLine($"load after: {ProbeArgs.Load()}");
        return 0;
    }

    private static bool RowDots(GgmlType type, byte* w, long rowBytes, int rows, byte* a, int n, float* y)
    {
        for (int r = 0; r < rows; r++, w += rowBytes)
            y[r] = type switch
            {
                GgmlType.Q4_K => VecDot.Q4_KQ8_K((BlockQ4_K*)w, (BlockQ8_K*)a, n),
                GgmlType.Q5_K => VecDot.Q5_KQ8_K((BlockQ5_K*)w, (BlockQ8_K*)a, n),
                GgmlType.Q6_K => VecDot.Q6_KQ8_K((BlockQ6_K*)w, (BlockQ8_K*)a, n),
                _ => throw new NotSupportedException(type.ToString()),
            };
        return true;
    }
}
