using System.Diagnostics;
using Whale.Engine;
using Whale.Models;
using Whale.Sampling;

namespace Whale.Diagnostics;

/// <summary>
/// Greedy generation speed with and without multi-token-prediction speculation: from a prompt (processed untimed),
/// n tokens chosen by argmax from the main model's logits, not stopping at end-of-generation tokens (as llama-bench's
/// tg runs a fixed count), timed per repetition; plain steps are one-token forwards, speculative steps go through the
/// same <see cref="MtpSpeculator"/> as <see cref="Generator"/>. Both runs must give the same tokens.
/// </summary>
public sealed class SpeculativeBenchmark
{
    private readonly IMtpModel _model;
    private readonly int _contextSize, _batch;
    private readonly float[] _logits;

    /// <summary>A benchmark over <paramref name="model"/> (which must have an MTP block) with caches of <paramref name="contextSize"/> positions.</summary>
    public SpeculativeBenchmark(IMtpModel model, int contextSize, int batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!model.HasMtp) throw new ArgumentException("the model has no MTP block", nameof(model));
        _model = model;
        _contextSize = contextSize;
        _batch = batch;
        _logits = new float[model.Config.VocabSize];
    }

    /// <summary>Generates <paramref name="count"/> tokens after <paramref name="prompt"/>; returns tokens per second, the tokens and the speculation counters.</summary>
    public (double TokensPerSecond, IReadOnlyList<int> Tokens, SpeculationStats Stats) Run(IReadOnlyList<int> prompt, int count, bool speculate)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Count == 0) throw new ArgumentException("the prompt has no tokens", nameof(prompt));
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (prompt.Count + count + 1 > _contextSize)
            throw new ArgumentException($"{prompt.Count} prompt + {count} generated tokens exceed the context size {_contextSize}");
        var cache = _model.CreateCache(_contextSize);
        var tokens = new List<int>(prompt.Count + count);
        tokens.AddRange(prompt);
        MtpSpeculator? spec = speculate ? new MtpSpeculator(_model, cache, _batch) : null;
        if (spec is not null) spec.Prefill(tokens, 0, _logits);
        else _model.Forward(tokens.ToArray(), cache, _logits);
        var one = new int[1];
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            int id = Sampler.Argmax(_logits);
            tokens.Add(id);
            if (i == count - 1) break;                      // the last token needs no logits after it
            if (spec is not null) spec.Step(tokens, _logits, speculate: i + 2 < count);
            else
            {
                one[0] = id;
                _model.Forward(one, cache, _logits);
            }
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return (count / seconds, tokens.GetRange(prompt.Count, count), spec?.Stats ?? new SpeculationStats());
    }

    /// <summary>
    /// Median seconds of the three calls a speculative step is made of, after <paramref name="prompt"/>: a one-token
    /// forward (a plain step), a two-token row-order forward with hidden states (a verification) and one MTP row
    /// (a draft); <paramref name="calls"/> calls each, alternating, every call on a cache cut back to the prompt.
    /// A speculative cycle costs verify + draft and yields 1 + acceptance tokens, so it pays when
    /// acceptance &gt; (verify + draft) / step - 1.
    /// </summary>
    public (double Step, double Verify, double Draft) MeasureCalls(IReadOnlyList<int> prompt, int calls)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentOutOfRangeException.ThrowIfLessThan(calls, 1);
        int n = prompt.Count, e = _model.Config.EmbedDim, v = _model.Config.VocabSize;
        if (n < 2 || n + 2 > _contextSize) throw new ArgumentException($"the prompt needs 2 to {_contextSize - 2} tokens");
        var cache = _model.CreateCache(_contextSize);
        var mtpCache = _model.CreateMtpCache(_contextSize);
        var hidden = new float[n * e];
        var logits = new float[2 * v];
        var pair = new int[] { prompt[n - 1], prompt[n - 1] };
        _model.ForwardHidden(prompt.ToArray(), cache, logits, hidden, rowOrder: false);
        _model.ForwardMtp(hidden.AsSpan(0, (n - 2) * e), Slice(prompt, 1, n - 2), mtpCache, logits);
        var step = new double[calls];
        var verify = new double[calls];
        var draft = new double[calls];
        var next = Slice(prompt, n - 1, 1);
        for (int i = 0; i < calls; i++)
        {
            cache.Length = n;
            long t0 = Stopwatch.GetTimestamp();
            _model.Forward(pair.AsSpan(0, 1), cache, logits);
            step[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            cache.Length = n;
            t0 = Stopwatch.GetTimestamp();
            _model.ForwardHidden(pair, cache, logits, hidden, rowOrder: true);
            verify[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            mtpCache.Length = n - 2;
            t0 = Stopwatch.GetTimestamp();
            _model.ForwardMtp(hidden.AsSpan(0, e), next, mtpCache, logits);
            draft[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        return (new BenchmarkStats(step).Median, new BenchmarkStats(verify).Median, new BenchmarkStats(draft).Median);
    }

    private static int[] Slice(IReadOnlyList<int> tokens, int start, int count)
    {
        var a = new int[count];
        for (int i = 0; i < count; i++) a[i] = tokens[start + i];
        return a;
    }
}
