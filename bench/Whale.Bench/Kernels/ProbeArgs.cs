using System.Globalization;
using Whale.Gguf;

namespace Whale.Bench.Kernels;

/// <summary>The positional arguments the kernel probes share: type lists, ROWSxCOLS shape lists, integer lists and integers.</summary>
internal static class ProbeArgs
{
    /// <summary>Comma-separated ggml type names at <paramref name="i"/> (e.g. Q4_K,Q6_K), else <paramref name="fallback"/>.</summary>
    public static GgmlType[] Types(string[] args, int i, string fallback) =>
        At(args, i, fallback).Split(',').Select(Enum.Parse<GgmlType>).ToArray();

    /// <summary>Comma-separated ROWSxCOLS shapes at <paramref name="i"/>, else <paramref name="fallback"/>.</summary>
    public static (int Rows, int Cols)[] Shapes(string[] args, int i, string fallback) =>
        At(args, i, fallback).Split(',').Select(s => s.Split('x')).Select(p => (Parse(p[0]), Parse(p[1]))).ToArray();

    /// <summary>Comma-separated integers at <paramref name="i"/>, else <paramref name="fallback"/>.</summary>
    public static int[] Ints(string[] args, int i, string fallback) => At(args, i, fallback).Split(',').Select(Parse).ToArray();

    /// <summary>The integer at <paramref name="i"/>, else <paramref name="fallback"/>.</summary>
    public static int Int(string[] args, int i, int fallback) => args.Length > i ? Parse(args[i]) : fallback;

    /// <summary>The load average line, printed with every probe's table (the machine is shared).</summary>
    public static string Load() => File.ReadAllText("/proc/loadavg").Trim();

    private static string At(string[] args, int i, string fallback) => args.Length > i ? args[i] : fallback;

    private static int Parse(string s) => int.Parse(s, CultureInfo.InvariantCulture);
}
