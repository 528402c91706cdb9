using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Whale.Kernels;

namespace Whale.Diagnostics;

/// <summary>
/// Measures the machine's memory read bandwidth: every worker streams its share of a buffer much larger than the
/// caches with wide loads (as a matrix-vector product streams its weights); the best of several passes counts. The
/// buffer is left out of the process's peak RSS (<see cref="ProcessMemory.RestartPeak"/>), so benchmarks that probe
/// next to their runs still report the model's own peak.
/// </summary>
public static unsafe class BandwidthProbe
{
    /// <summary>Read bandwidth in bytes per second with <paramref name="threads"/> workers over <paramref name="bytes"/> bytes (default 512 MiB).</summary>
    public static double Measure(int threads, long bytes = 512L << 20, int passes = 5)
    {
        using var pool = new WorkerPool(Math.Max(1, threads));
        return Measure(pool, bytes, passes);
    }

    /// <summary>Read bandwidth in bytes per second using the workers of <paramref name="pool"/>.</summary>
    public static double Measure(WorkerPool pool, long bytes = 512L << 20, int passes = 5)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1L << 20);
        ArgumentOutOfRangeException.ThrowIfLessThan(passes, 1);
        bytes &= ~4095L;
        long peakBefore = ProcessMemory.PeakRss();
        byte* buffer = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 4096);
        try
        {
            long chunks = bytes / 4096;
            var sinks = new long[pool.WorkerCount * 8];
            // touch (and fault in) every page first, split the same way as the timed passes
            pool.Run((w, count) =>
            {
                var (s, e) = WorkerPool.Split((int)chunks, w, count);
                new Span<byte>(buffer + (long)s * 4096, (int)((long)(e - s) * 4096)).Fill((byte)(w + 1));
            });
            double best = 0;
            for (int p = 0; p < passes; p++)
            {
                long t0 = Stopwatch.GetTimestamp();
                pool.Run((w, count) =>
                {
                    var (s, e) = WorkerPool.Split((int)chunks, w, count);
                    sinks[w * 8] += Sum(buffer + (long)s * 4096, (long)(e - s) * 4096);
                });
                double sec = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                best = Math.Max(best, bytes / sec);
            }
            GC.KeepAlive(sinks);
            return best;
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
            ProcessMemory.RestartPeak(peakBefore);
        }
    }

    private static long Sum(byte* p, long n)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<long> a0 = default, a1 = default, a2 = default, a3 = default;
            for (long i = 0; i + 256 <= n; i += 256)
            {
                a0 += Vector512.Load((long*)(p + i));
                a1 += Vector512.Load((long*)(p + i + 64));
                a2 += Vector512.Load((long*)(p + i + 128));
                a3 += Vector512.Load((long*)(p + i + 192));
            }
            return Vector512.Sum(a0 + a1 + a2 + a3);
        }
        Vector256<long> b0 = default, b1 = default, b2 = default, b3 = default;
        for (long i = 0; i + 128 <= n; i += 128)
        {
            b0 += Vector256.Load((long*)(p + i));
            b1 += Vector256.Load((long*)(p + i + 32));
            b2 += Vector256.Load((long*)(p + i + 64));
            b3 += Vector256.Load((long*)(p + i + 96));
        }
        return Vector256.Sum(b0 + b1 + b2 + b3);
    }
}
