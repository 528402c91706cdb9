using System.Diagnostics;
using Whale.Gguf;
using Whale.Kernels;
using Whale.Kernels.Quant;

namespace Whale.Bench.Kernels;

/// <summary>
/// <c>Whale.Bench q8ab [cols] [rows] [batches]</c>: the Q8_0 kernel on weights read in place (<see cref="TileQ8_0Avx512"/>,
/// llama.cpp's summation order) and on weights repacked at load (<see cref="TileQ8_0Repacked"/>, row-lane order) on one
/// thread, alternated five times in one process and timed in process CPU time (so time the scheduler gives to other
/// tenants does not count), medians in GMAC/s; also prints the largest difference between the two relative to the
/// largest output. Meant for a shared machine where wall-clock benchmarks swing with the load.
/// </summary>
internal static unsafe class Q8_0TileAb
{
    public static int Run(string[] args)
    {
        if (!TileQ8_0Repacked.IsSupported || !TileQ8_0Avx512.IsSupported)
        {
            Console.Error.WriteLine("q8ab needs AVX-VNNI and AVX-512");
            return 1;
        }
        int cols = ProbeArgs.Int(args, 0, 1536);
        int rows = ProbeArgs.Int(args, 1, 1536);
        int[] batches = ProbeArgs.Ints(args, 2, "1,4,16,64,512");
        using var w = new TestMatrix(GgmlType.Q8_0, cols, rows);
        var m = w.Matrix;
        using var packed = new WeightMatrix(GgmlType.Q8_0, m.Data, cols, rows);
        packed.Repack();
        Console.WriteLine($"load average {ProbeArgs.Load()}");
        foreach (int batch in batches)
        {
            var qx = new byte[batch * m.ActivationRowBytes];
            m.ConvertActivations(TestMatrix.RandomActivations(batch * cols), batch, qx);
            var yOld = new float[batch * rows];
            var yNew = new float[batch * rows];
            fixed (byte* a = qx)
            fixed (float* po = yOld)
            fixed (float* pn = yNew)
            {
                var job = new Job(m.Data, m.RowBytes, rows, cols, a, m.ActivationRowBytes, batch, packed);
                CpuSeconds(job, false, po, 1);
                CpuSeconds(job, true, pn, 1);
                double maxDiff = 0, maxAbs = 0;
                for (int i = 0; i < yOld.Length; i++)
                {
                    maxDiff = Math.Max(maxDiff, Math.Abs((double)yOld[i] - yNew[i]));
                    maxAbs = Math.Max(maxAbs, Math.Abs((double)yOld[i]));
                }
                double macs = (double)rows * cols * batch;
                int reps = (int)Math.Max(3, 2e9 / macs);
                var tOld = new List<double>();
                var tNew = new List<double>();
                for (int k = 0; k < 5; k++)
                {
                    tOld.Add(CpuSeconds(job, false, po, reps));
                    tNew.Add(CpuSeconds(job, true, pn, reps));
                }
                tOld.Sort();
                tNew.Sort();
                Console.WriteLine(FormattableString.Invariant(
                    $"{rows}x{cols} batch {batch,4}: in place {macs / tOld[2] / 1e9,6:F1} GMAC/s, repacked {macs / tNew[2] / 1e9,6:F1} GMAC/s ({m.RowBytes * rows / tNew[2] / 1e9:F1} GB/s), x{tOld[2] / tNew[2]:F2}, max|diff|/max|y| {maxDiff / maxAbs:E1}"));
            }
        }
        return 0;
    }

    private readonly struct Job(byte* w, long rowBytes, int rows, int cols, byte* a, long aRowBytes, int batch, WeightMatrix packed)
    {
        public readonly WeightMatrix Packed = packed;
        public readonly byte* W = w, A = a;
        public readonly long RowBytes = rowBytes, ARowBytes = aRowBytes;
        public readonly int Rows = rows, Cols = cols, Batch = batch;
    }

    private static double CpuSeconds(in Job j, bool repacked, float* y, int reps)
    {
        var p = Process.GetCurrentProcess();
        var t0 = p.TotalProcessorTime;
        for (int i = 0; i < reps; i++)
        {
            if (repacked) j.Packed.MatMul(new ReadOnlySpan<byte>(j.A, (int)(j.Batch * j.ARowBytes)), j.Batch, new Span<float>(y, j.Batch * j.Rows), 0, j.Rows);
            else TileQ8_0Avx512.MatMul(j.W, j.RowBytes, 0, j.Rows, j.A, j.ARowBytes, j.Batch, j.Cols, y, j.Rows);
        }
        p.Refresh();
        return (p.TotalProcessorTime - t0).TotalSeconds / reps;
    }
}
