using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Whale.Bench.Kernels;

/// <summary>
/// GB/s = bytes one operation streams / mean time. A benchmark class provides
/// <c>public static long BytesPerOperation(string method, Func&lt;string, object?&gt; parameter)</c>.
/// </summary>
internal sealed class ThroughputColumn : IColumn
{
    public string Id => "GBps";
    public string ColumnName => "GB/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "bytes read per operation (weights, or inputs for small ops) / mean time";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var report = summary[benchmarkCase];
        var method = benchmarkCase.Descriptor.Type.GetMethod("BytesPerOperation", BindingFlags.Public | BindingFlags.Static);
        if (report?.ResultStatistics is null || method is null) return "-";
        object? Param(string name) => benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == name)?.Value;
        long bytes = (long)method.Invoke(null, [benchmarkCase.Descriptor.WorkloadMethod.Name, (Func<string, object?>)Param])!;
        double ns = report.ResultStatistics.Mean;
        return (bytes / ns).ToString("F2", CultureInfo.InvariantCulture);
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}
