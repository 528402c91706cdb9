using System.Diagnostics;

namespace Whale.Diagnostics;

/// <summary>Resident memory of this process.</summary>
public static class ProcessMemory
{
    private static long s_floor;

    /// <summary>
    /// Peak resident set size in bytes (VmHWM on Linux: anonymous memory plus mapped file pages touched), leaving out
    /// scratch memory given back before a <see cref="RestartPeak"/> (where Linux allows resetting the peak).
    /// </summary>
    public static long PeakRss()
    {
        if (OperatingSystem.IsLinux() && TryStatus("VmHWM:", out long kb)) return Math.Max(Interlocked.Read(ref s_floor), kb * 1024);
        using var p = Process.GetCurrentProcess();
        return p.PeakWorkingSet64;
    }

    /// <summary>
    /// Restarts the kernel's peak (writes 5 to /proc/self/clear_refs) after scratch memory that is not the workload's
    /// (the bandwidth probe's buffer) was freed, keeping <paramref name="peakBefore"/> (<see cref="PeakRss"/> read before
    /// the scratch was allocated) as the peak so far. Returns false (and changes nothing) where that is not possible.
    /// </summary>
    public static bool RestartPeak(long peakBefore)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        long seen;
        do seen = Interlocked.Read(ref s_floor);
        while (peakBefore > seen && Interlocked.CompareExchange(ref s_floor, peakBefore, seen) != seen);
        return true;
    }

    /// <summary>Current resident set size in bytes.</summary>
    public static long CurrentRss()
    {
        if (OperatingSystem.IsLinux() && TryStatus("VmRSS:", out long kb)) return kb * 1024;
        using var p = Process.GetCurrentProcess();
        return p.WorkingSet64;
    }

    private static bool TryStatus(string key, out long kb)
    {
        kb = 0;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith(key, StringComparison.Ordinal)) continue;
                var parts = line[key.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length > 0 && long.TryParse(parts[0], out kb);
            }
        }
        catch (IOException)
        {
        }
        return false;
    }
}
