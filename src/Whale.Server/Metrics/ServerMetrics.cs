using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Whale.Server.Hosting;

namespace Whale.Server.Metrics;

/// <summary>
/// The server's Prometheus metrics, named like vLLM's with a <c>whale:</c> prefix (written by hand: prometheus-net
/// 8 rejects ':' in metric names). Latencies are observed by the endpoints; engine gauges and counters are read
/// from <see cref="Whale.Engine.IInferenceEngine.GetStats"/> at scrape time.
/// </summary>
internal sealed class ServerMetrics
{
    private static readonly double[] LatencyBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640];
    private static readonly double[] ItlBuckets = [0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5];

    private readonly ConcurrentDictionary<(string Model, string Reason), long> _finished = new();
    private readonly ConcurrentDictionary<(string Model, int Status), long> _errors = new();
    private readonly ConcurrentDictionary<string, (long Tokens, long Ticks)> _lastRate = new(StringComparer.Ordinal);

    public Histogram TimeToFirstToken { get; } = new("whale:time_to_first_token_seconds", "Time from request arrival to the first generated token.", LatencyBuckets);
    public Histogram InterTokenLatency { get; } = new("whale:inter_token_latency_seconds", "Time between two generated tokens of a request.", ItlBuckets);
    public Histogram EndToEndLatency { get; } = new("whale:e2e_request_latency_seconds", "Time from request arrival to its last token.", LatencyBuckets);
    public Histogram QueueTime { get; } = new("whale:request_queue_time_seconds", "Time a request waited in the engine queue.", LatencyBuckets);
    public Histogram DecodeRate { get; } = new("whale:request_generation_tokens_per_second", "Generated tokens per second of decoding, per request.",
        [1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000]);

    public void Finished(string model, string reason) => _finished.AddOrUpdate((model, reason), 1, (_, n) => n + 1);

    public void Error(string model, int status) => _errors.AddOrUpdate((model, status), 1, (_, n) => n + 1);

    public string Export(IReadOnlyList<ServedModel> models)
    {
        var sb = new StringBuilder();
        var stats = models.Select(m => (Label: "model_name=" + PrometheusText.Label(m.Id), Id: m.Id, Stats: m.Engine.GetStats())).ToList();
        PrometheusText.Sample(sb, "whale:num_requests_running", "gauge", "Requests being generated.", stats.Select(s => (s.Label, (double)s.Stats.RunningRequests)));
        PrometheusText.Sample(sb, "whale:num_requests_waiting", "gauge", "Requests waiting to start.", stats.Select(s => (s.Label, (double)s.Stats.WaitingRequests)));
        PrometheusText.Sample(sb, "whale:kv_cache_usage_perc", "gauge", "Fraction of the KV cache used by running requests (1 = full).", stats.Select(s => (s.Label, s.Stats.KvCacheUsage)));
        PrometheusText.Sample(sb, "whale:kv_cache_tokens", "gauge", "Tokens held in the KV cache, running or kept for prefix reuse.", stats.Select(s => (s.Label, (double)s.Stats.KvCachedTokens)));
        PrometheusText.Sample(sb, "whale:kv_cache_capacity_tokens", "gauge", "Tokens the KV cache can hold.", stats.Select(s => (s.Label, (double)s.Stats.KvCapacityTokens)));
        PrometheusText.Sample(sb, "whale:prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.", stats.Select(s => (s.Label, (double)s.Stats.PrefixCacheQueriesTotal)));
        PrometheusText.Sample(sb, "whale:prefix_cache_hits_total", "counter", "Prompt tokens found in the prefix cache.", stats.Select(s => (s.Label, (double)s.Stats.PrefixCacheHitsTotal)));
        PrometheusText.Sample(sb, "whale:prompt_tokens_total", "counter", "Prompt tokens of started requests.", stats.Select(s => (s.Label, (double)s.Stats.PrefixCacheQueriesTotal)));
        PrometheusText.Sample(sb, "whale:prefill_tokens_total", "counter", "Prompt tokens run through the model (not cache hits).", stats.Select(s => (s.Label, (double)s.Stats.PrefillTokensTotal)));
        PrometheusText.Sample(sb, "whale:generation_tokens_total", "counter", "Generated tokens.", stats.Select(s => (s.Label, (double)s.Stats.GeneratedTokensTotal)));
        PrometheusText.Sample(sb, "whale:generation_tokens_per_second", "gauge", "Generated tokens per second since the previous scrape.",
            stats.Select(s => (s.Label, Rate(s.Id, s.Stats.GeneratedTokensTotal))));
        PrometheusText.Sample(sb, "whale:request_success_total", "counter", "Finished requests by finish reason.",
            _finished.OrderBy(k => k.Key.Model, StringComparer.Ordinal).Select(kv => ($"model_name={PrometheusText.Label(kv.Key.Model)},finished_reason={PrometheusText.Label(kv.Key.Reason)}", (double)kv.Value)));
        PrometheusText.Sample(sb, "whale:request_errors_total", "counter", "Requests answered with an error, by HTTP status.",
            _errors.OrderBy(k => k.Key.Model, StringComparer.Ordinal).Select(kv => ($"model_name={PrometheusText.Label(kv.Key.Model)},status=\"{kv.Key.Status}\"", (double)kv.Value)));
        foreach (var h in new[] { TimeToFirstToken, InterTokenLatency, EndToEndLatency, QueueTime, DecodeRate }) h.WriteTo(sb);
        return sb.ToString();
    }

    private double Rate(string model, long tokens)
    {
        long now = Stopwatch.GetTimestamp();
        (long Tokens, long Ticks) prev = _lastRate.GetValueOrDefault(model, (tokens, now));
        _lastRate[model] = (tokens, now);
        double secs = Stopwatch.GetElapsedTime(prev.Ticks, now).TotalSeconds;
        return secs > 0 ? (tokens - prev.Tokens) / secs : 0;
    }
}
