using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Whale.Bench.Kernels;

/// <summary>CPU time of the calling thread: other processes on a shared machine do not inflate it.</summary>
internal static unsafe class ThreadClock
{
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, TimeSpec* t);

    private static readonly Stopwatch Wall = Stopwatch.StartNew();

    /// <summary>CLOCK_THREAD_CPUTIME_ID on Linux, else wall time.</summary>
    public static double CpuSeconds()
    {
        if (OperatingSystem.IsLinux())
        {
            TimeSpec t;
            if (ClockGetTime(3, &t) == 0) return t.Seconds + t.Nanoseconds * 1e-9;
        }
        return Wall.Elapsed.TotalSeconds;
    }
}
