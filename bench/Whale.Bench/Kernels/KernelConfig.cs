using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace Whale.Bench.Kernels;

/// <summary>Short jobs (the machine is shared and kernels are stable) plus GB/s and GMAC/s columns.</summary>
internal static class KernelConfig
{
    public static IConfig Create() => DefaultConfig.Instance
        .AddJob(Job.ShortRun.WithId("short"))
        .AddColumn(new ThroughputColumn())
        .AddColumn(new MacColumn())
        .WithOptions(ConfigOptions.JoinSummary);
}
