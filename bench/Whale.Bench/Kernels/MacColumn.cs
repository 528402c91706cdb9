using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Whale.Bench.Kernels;

/// <summary>
/// GMAC/s = multiply-accumulates per operation / mean time. A benchmark class provides
/// <c>public static double MacsPerOperation(string method, Func&lt;string, object?&gt; parameter)</c>; others show "-".
/// </summary>
internal sealed class MacColumn : IColumn
{
    public string Id => "GMACps";
    public string ColumnName => "GMAC/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 1;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "multiply-accumulates per operation / mean time (billions per second)";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var report = summary[benchmarkCase];
        var method = benchmarkCase.Descriptor.Type.GetMethod("MacsPerOperation", BindingFlags.Public | BindingFlags.Static);
        if (report?.ResultStatistics is null || method is null) return "-";
        object? Param(string name) => benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == name)?.Value;
        double macs = (double)method.Invoke(null, [benchmarkCase.Descriptor.WorkloadMethod.Name, (Func<string, object?>)Param])!;
        return (macs / report.ResultStatistics.Mean).ToString("F1", CultureInfo.InvariantCulture);
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}
