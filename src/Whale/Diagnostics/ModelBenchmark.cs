using System.Diagnostics;
using Whale.Gguf;
using Whale.Models;

namespace Whale.Diagnostics;

/// <summary>
/// Times a model's forward pass the way llama-bench does: random token ids (no tokenization), no sampling,
/// prompt processing as one batch, generation one token per forward pass; the cache prefix for a depth is filled
/// once and reused by every repetition. Also estimates the bytes read per generated token (weights + KV cache).
/// </summary>
public sealed class ModelBenchmark
{
    private readonly IModel _model;
    private readonly KvCache _cache;
    private readonly float[] _logits;
    private readonly Random _random = new(1234);
    private int _prefilledDepth;

    /// <summary>A benchmark over <paramref name="model"/> with a cache of <paramref name="contextSize"/> positions.</summary>
    public ModelBenchmark(IModel model, int contextSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _cache = model.CreateCache(contextSize);
        _logits = new float[model.Config.VocabSize];
    }

    /// <summary>Cache bytes read per position attended (K and V of every layer).</summary>
    public long KvBytesPerPosition => _cache.Bytes / _cache.ContextSize;

    /// <summary>One untimed short pass (page-in, JIT), as llama-bench's warm-up.</summary>
    public void WarmUp()
    {
        _cache.Length = 0;
        _prefilledDepth = 0;
        _model.Forward(RandomTokens(Math.Min(16, _cache.ContextSize - 1)), _cache, _logits);
        _cache.Length = 0;
        _model.Forward(RandomTokens(1), _cache, _logits);
        _cache.Length = 0;
    }

    /// <summary>Runs <paramref name="test"/> once and returns tokens per second.</summary>
    public double RunOnce(BenchmarkTest test)
    {
        ArgumentNullException.ThrowIfNull(test);
        if (test.ContextNeeded > _cache.ContextSize)
            throw new ArgumentException($"{test.Name} needs {test.ContextNeeded} cache positions; the cache has {_cache.ContextSize}");
        Prefill(test.Depth);
        if (test.Prompt > 0)
        {
            var tokens = RandomTokens(test.Prompt);
            long t0 = Stopwatch.GetTimestamp();
            _model.Forward(tokens, _cache, _logits);
            return test.Prompt / Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        var next = RandomTokens(test.Generate);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < test.Generate; i++)
            _model.Forward(next.AsSpan(i, 1), _cache, _logits);
        return test.Generate / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>Runs <paramref name="test"/> <paramref name="reps"/> times.</summary>
    public BenchmarkStats Run(BenchmarkTest test, int reps)
    {
        var samples = new double[reps];
        for (int r = 0; r < reps; r++) samples[r] = RunOnce(test);
        return new BenchmarkStats(samples);
    }

    /// <summary>Bytes read from memory per generated token by <paramref name="test"/>: weights plus the KV cache at the mean length.</summary>
    public long BytesPerGeneratedToken(GgufFile file, BenchmarkTest test)
    {
        ArgumentNullException.ThrowIfNull(test);
        double meanLength = test.Depth + (test.Generate + 1) / 2.0;
        return WeightBytesPerToken(file) + (long)(KvBytesPerPosition * meanLength);
    }

    /// <summary>
    /// Weight bytes one token's forward pass reads: every tensor except the embedding table (rows are looked up),
    /// unless the output projection is tied to it; MoE expert tensors (<c>*_exps</c>) scaled by used/total experts.
    /// </summary>
    public static long WeightBytesPerToken(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        bool tied = !file.TryGetTensor("output.weight", out _);
        string arch = file.Architecture ?? "";
        long experts = file.GetInt64($"{arch}.expert_count", 0), used = file.GetInt64($"{arch}.expert_used_count", 0);
        double total = 0;
        foreach (var t in file.Tensors)
        {
            if (t.Name == "token_embd.weight" && !tied) continue;
            double bytes = t.ByteSize;
            if (t.Name.Contains("_exps", StringComparison.Ordinal) && experts > 0 && used > 0) bytes *= (double)used / experts;
            total += bytes;
        }
        return (long)total;
    }

    private void Prefill(int depth)
    {
        if (depth == 0)
        {
            _cache.Length = 0;
            _prefilledDepth = 0;   // the test overwrites the prefix
            return;
        }
        if (_prefilledDepth != depth)
        {
            _cache.Length = 0;
            _model.Forward(RandomTokens(depth), _cache, _logits);
            _prefilledDepth = depth;
        }
        _cache.Length = depth;
    }

    private int[] RandomTokens(int n)
    {
        var t = new int[n];
        for (int i = 0; i < n; i++) t[i] = _random.Next(_model.Config.VocabSize);
        return t;
    }
}
