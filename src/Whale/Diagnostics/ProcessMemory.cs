using System.Diagnostics;

namespace Whale.Diagnostics;

/// <summary>Resident memory of this process.</summary>
public static class ProcessMemory
{
    /// <summary>Peak resident set size in bytes (VmHWM on Linux: anonymous memory plus mapped file pages touched).</summary>
    public static long PeakRss()
    {
        if (OperatingSystem.IsLinux() && TryStatus("VmHWM:", out long kb)) return kb * 1024;
        using var p = Process.GetCurrentProcess();
        return p.PeakWorkingSet64;
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
