using System.Globalization;
using System.Text;

namespace Whale.Server.Metrics;

/// <summary>A Prometheus histogram with one label (model_name); thread-safe.</summary>
internal sealed class Histogram(string name, string help, double[] buckets)
{
    private readonly Dictionary<string, (long[] Counts, double Sum, long Count)> _series = new(StringComparer.Ordinal);

    public string Name { get; } = name;

    public void Observe(string model, double value)
    {
        lock (_series)
        {
            if (!_series.TryGetValue(model, out var s)) s = (new long[buckets.Length], 0, 0);
            for (int i = 0; i < buckets.Length; i++) if (value <= buckets[i]) s.Counts[i]++;
            _series[model] = (s.Counts, s.Sum + value, s.Count + 1);
        }
    }

    public void WriteTo(StringBuilder sb)
    {
        sb.Append("# HELP ").Append(Name).Append(' ').Append(help).Append('\n');
        sb.Append("# TYPE ").Append(Name).Append(" histogram\n");
        lock (_series)
        {
            foreach (var (model, s) in _series)
            {
                string label = PrometheusText.Label(model);
                for (int i = 0; i < buckets.Length; i++)
                    sb.Append(Name).Append("_bucket{model_name=").Append(label).Append(",le=\"")
                      .Append(buckets[i].ToString("R", CultureInfo.InvariantCulture)).Append("\"} ").Append(s.Counts[i]).Append('\n');
                sb.Append(Name).Append("_bucket{model_name=").Append(label).Append(",le=\"+Inf\"} ").Append(s.Count).Append('\n');
                sb.Append(Name).Append("_sum{model_name=").Append(label).Append("} ").Append(PrometheusText.Number(s.Sum)).Append('\n');
                sb.Append(Name).Append("_count{model_name=").Append(label).Append("} ").Append(s.Count).Append('\n');
            }
        }
    }
}
