using System.Globalization;
using Whale.Diagnostics;
using Whale.Gguf;
using Whale.Kernels;

namespace Whale.Bench.Kernels;

/// <summary>
/// <c>Whale.Bench kab [TYPES Q4_K,Q6_K] [SHAPES 1536x1536,8960x1536] [BATCHES 1,4,16,64,512] [REPS 5] [COLD_MIB 640]</c>:
/// the K-quant products on weights read in place (what <see cref="WeightMatrix.MatMul(ReadOnlySpan{byte}, int, Span{float}, int, int)"/>
/// runs without repacking: GemvKQuants for 1-4 activation rows, the K-quant tiles above, llama.cpp's order) and on the
/// same weights repacked at load (TileQ4_KRepacked / TileQ6_KRepacked, row-lane order), one thread, repetitions
/// alternating, medians of the thread's CPU time in GMAC/s. Shapes are rows x cols. "hot": one matrix, products
/// repeated (it stays in cache); batch 1 also "cold": the product walks a weight region of COLD_MIB (copies of the
/// matrix, larger than the L3) so the weights come from memory as in a decode step (weight GB/s shown). Also prints the
/// largest difference between the two relative to the largest output.
/// </summary>
internal static unsafe class KQuantRepackAb
{
    public static int Run(string[] args)
    {
        var types = ProbeArgs.Types(args, 0, "Q4_K,Q6_K");
        var shapes = ProbeArgs.Shapes(args, 1, "1536x1536,8960x1536");
        int[] batches = ProbeArgs.Ints(args, 2, "1,4,16,64,512");
        int reps = ProbeArgs.Int(args, 3, 5);
        int coldMiB = ProbeArgs.Int(args, 4, 640);
        Console.WriteLine($"one thread; median of {reps} alternating repetitions after one warm-up; cold region {coldMiB} MiB; load {ProbeArgs.Load()}");
        Console.WriteLine("| type | rows x cols | batch | mode | in place GMAC/s | repacked GMAC/s | in place GB/s | repacked GB/s | repacked / in place | max diff / max y |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var type in types)
            foreach (var (rows, cols) in shapes)
            {
                long rowBytes = GgmlTypeTraits.RowBytes(type, cols);
                int copies = (int)Math.Max(1, ((long)coldMiB << 20) / (rowBytes * rows));
                using var hot = new Pair(type, cols, rows);
                using var coldPair = batches.Contains(1) && copies > 1 ? new Pair(type, cols, rows * copies) : null;
                foreach (int batch in batches)
                {
                    var qx = new byte[batch * hot.InPlace.ActivationRowBytes];
                    hot.InPlace.ConvertActivations(TestMatrix.RandomActivations(batch * cols), batch, qx);
                    foreach (bool cold in batch == 1 && coldPair is not null ? new[] { false, true } : new[] { false })
                    {
                        var pair = cold ? coldPair! : hot;
                        var y0 = new float[batch * pair.InPlace.Rows];
                        var y1 = new float[batch * pair.InPlace.Rows];
                        double macs1 = (double)rows * cols * batch;
                        int passes = cold ? copies : (int)Math.Max(1, 2e9 / macs1 / reps);
                        double macs = macs1 * passes, bytes = (double)rowBytes * rows * passes;
                        var t = new[] { new List<double>(), new List<double>() };
                        int k = 0;
                        for (int rep = -1; rep < reps; rep++)
                            for (int v = 0; v < 2; v++)
                            {
                                var m = v == 0 ? pair.InPlace : pair.Packed;
                                var y = v == 0 ? y0 : y1;
                                double c0 = ThreadClock.CpuSeconds();
                                for (int p = 0; p < passes; p++)
                                {
                                    int r0 = cold ? (k++ % copies) * rows : 0;
                                    m.MatMul(qx, batch, y, r0, r0 + rows);
                                }
                                if (rep >= 0) t[v].Add(ThreadClock.CpuSeconds() - c0);
                            }
                        double maxDiff = 0, maxAbs = 0;
                        for (int i = 0; i < y0.Length; i++)
                        {
                            maxDiff = Math.Max(maxDiff, Math.Abs((double)y0[i] - y1[i]));
                            maxAbs = Math.Max(maxAbs, Math.Abs((double)y0[i]));
                        }
                        double a = Percentiles.Of(t[0]).P50, n = Percentiles.Of(t[1]).P50;
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"| {type} | {rows} x {cols} | {batch} | {(cold ? "cold" : "hot")} | {macs / a / 1e9:F1} | {macs / n / 1e9:F1} | {bytes / a / 1e9:F2} | {bytes / n / 1e9:F2} | {a / n:F2} | {maxDiff / maxAbs:E1} |"));
                    }
                }
            }
        Console.WriteLine($"load after: {ProbeArgs.Load()}");
        return 0;
    }

    /// <summary>A random matrix read in place and its repacked copy.</summary>
    private sealed class Pair : IDisposable
    {
        private readonly TestMatrix _matrix;

        public Pair(GgmlType type, int cols, int rows)
        {
            _matrix = new TestMatrix(type, cols, rows);
            Packed = new WeightMatrix(type, InPlace.Data, cols, rows);
            if (!Packed.Repack()) throw new NotSupportedException($"{type} cannot be repacked on this machine");
        }

        public WeightMatrix InPlace => _matrix.Matrix;
        public WeightMatrix Packed { get; }

        public void Dispose()
        {
            Packed.Dispose();
            _matrix.Dispose();
        }
    }
}
