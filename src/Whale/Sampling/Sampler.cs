using System.Security.Cryptography;

namespace Whale.Sampling;

/// <summary>
/// Picks the next token from a logits vector, following llama.cpp's default sampler chain:
/// logit bias → penalties (repeat, frequency, presence) → top-k → top-p → min-p → temperature → softmax → draw.
/// Temperature ≤ 0 is greedy: the argmax after bias and penalties (lowest id on ties), independent of the seed.
/// </summary>
/// <remarks>
/// The sampler owns its buffers (a few arrays of vocabulary size), so <see cref="Sample"/> does not allocate.
/// Penalties look at the tokens given to <see cref="Accept"/>; feed it the prompt tokens as well if they should
/// count (llama.cpp's CLI does). Not thread-safe: use one sampler per sequence.
/// </remarks>
public sealed class Sampler
{
    private readonly float _temperature;
    private readonly int _topK;
    private readonly float _topP;
    private readonly float _minP;
    private readonly float _repeatPenalty;
    private readonly float _frequencyPenalty;
    private readonly float _presencePenalty;
    private readonly int _penaltyLastN;
    private readonly bool _penaltiesOn;

    private readonly int[] _biasIds;
    private readonly float[] _biasValues;

    // Working buffers (vocabulary size).
    private readonly float[] _logits;
    private readonly int[] _candIds;
    private readonly float[] _candLogits;

    // Penalty history: a ring of the last N tokens (or all of them), per-token counts, and the set of tokens with a
    // non-zero count (with each token's position in it, for O(1) removal).
    private readonly int[]? _counts;
    private readonly int[]? _distinct;
    private readonly int[]? _distinctPos;
    private int _distinctCount;
    private int[]? _window;
    private int _windowStart;
    private int _windowCount;

    private SamplerRandom _rng;

    /// <summary>Creates a sampler for a vocabulary of <paramref name="vocabSize"/> tokens.</summary>
    /// <param name="parameters">The sampling settings.</param>
    /// <param name="vocabSize">The number of logits per call to <see cref="Sample"/>.</param>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public Sampler(SamplingParams parameters, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabSize);
        if (float.IsNaN(parameters.Temperature))
            throw new ArgumentException("temperature is NaN", nameof(parameters));
        if (!(parameters.TopP >= 0))
            throw new ArgumentException("top-p must be >= 0", nameof(parameters));
        if (!(parameters.MinP >= 0))
            throw new ArgumentException("min-p must be >= 0", nameof(parameters));
        if (!(parameters.RepeatPenalty > 0) || float.IsInfinity(parameters.RepeatPenalty))
            throw new ArgumentException("repeat penalty must be a positive number", nameof(parameters));
        if (!float.IsFinite(parameters.FrequencyPenalty) || !float.IsFinite(parameters.PresencePenalty))
            throw new ArgumentException("frequency and presence penalties must be finite", nameof(parameters));
        if (parameters.PenaltyLastN < -1)
            throw new ArgumentException("penalty window must be -1 (all), 0 (off) or positive", nameof(parameters));

        Parameters = parameters;
        VocabSize = vocabSize;
        _temperature = parameters.Temperature;
        _topK = parameters.TopK;
        _topP = parameters.TopP;
        _minP = parameters.MinP;
        _repeatPenalty = parameters.RepeatPenalty;
        _frequencyPenalty = parameters.FrequencyPenalty;
        _presencePenalty = parameters.PresencePenalty;
        _penaltyLastN = parameters.PenaltyLastN;
        _penaltiesOn = _penaltyLastN != 0 &&
            (_repeatPenalty != 1f || _frequencyPenalty != 0f || _presencePenalty != 0f);

        var bias = parameters.LogitBias;
        _biasIds = new int[bias?.Count ?? 0];
        _biasValues = new float[_biasIds.Length];
        if (bias is not null)
        {
            int i = 0;
            foreach (var (id, value) in bias)
            {
                if ((uint)id >= (uint)vocabSize)
                    throw new ArgumentException($"logit bias for token {id} outside the vocabulary (size {vocabSize})", nameof(parameters));
                if (float.IsNaN(value))
                    throw new ArgumentException($"logit bias for token {id} is NaN", nameof(parameters));
                _biasIds[i] = id;
                _biasValues[i] = value;
                i++;
            }
        }

        _logits = new float[vocabSize];
        _candIds = new int[vocabSize];
        _candLogits = new float[vocabSize];
        if (_penaltiesOn)
        {
            _counts = new int[vocabSize];
            _distinct = new int[vocabSize];
            _distinctPos = new int[vocabSize];
            _window = new int[_penaltyLastN > 0 ? Math.Min(_penaltyLastN, 256) : 256];
        }

        if (parameters.Seed is { } seed)
        {
            Seed = seed;
        }
        else
        {
            Span<byte> bytes = stackalloc byte[8];
            RandomNumberGenerator.Fill(bytes);
            Seed = BitConverter.ToUInt64(bytes);
        }

        _rng = new SamplerRandom(Seed);
    }

    /// <summary>The settings this sampler was built from.</summary>
    public SamplingParams Parameters { get; }

    /// <summary>The vocabulary size (the length <see cref="Sample"/> expects).</summary>
    public int VocabSize { get; }

    /// <summary>The seed in use: <see cref="SamplingParams.Seed"/>, or the random one drawn when that was null
    /// (print it to reproduce a run).</summary>
    public ulong Seed { get; }

    /// <summary>True when sampling is greedy (temperature ≤ 0).</summary>
    public bool IsGreedy => _temperature <= 0f;

    /// <summary>Chooses the next token. Does not record it: call <see cref="Accept"/> with the token that is used.</summary>
    /// <param name="logits">The model's logits for the next position (length <see cref="VocabSize"/>); not modified.</param>
    /// <returns>The token id.</returns>
    /// <exception cref="InvalidOperationException">Every token has a logit of -∞ (or NaN).</exception>
    public int Sample(ReadOnlySpan<float> logits)
    {
        if (logits.Length != VocabSize)
            throw new ArgumentException($"expected {VocabSize} logits, got {logits.Length}", nameof(logits));

        var buf = _logits;
        logits.CopyTo(buf);
        for (int i = 0; i < _biasIds.Length; i++)
            buf[_biasIds[i]] += _biasValues[i];
        if (_penaltiesOn)
            ApplyPenalties(buf);

        if (_temperature <= 0f)
            return Argmax(buf);

        int n = BuildCandidates(buf, out bool sorted);
        if (n == 0)
            throw new InvalidOperationException("no token can be sampled: every logit is -inf or NaN");

        if (_topP < 1f)
        {
            if (!sorted)
            {
                SortDescending(n);
                sorted = true;
            }

            n = TopP(n);
        }

        if (_minP > 0f)
            n = MinP(n, sorted);

        if (_temperature != 1f)
        {
            var vals = _candLogits.AsSpan(0, n);
            for (int i = 0; i < vals.Length; i++)
                vals[i] /= _temperature;
        }

        return Draw(n);
    }

    /// <summary>Records a token as part of the history the penalties look at.</summary>
    /// <param name="token">The token id (0 ≤ token &lt; <see cref="VocabSize"/>).</param>
    public void Accept(int token)
    {
        if ((uint)token >= (uint)VocabSize)
            throw new ArgumentOutOfRangeException(nameof(token), token, $"token outside the vocabulary (size {VocabSize})");
        if (!_penaltiesOn)
            return;

        var window = _window!;
        if (_penaltyLastN > 0 && _windowCount == _penaltyLastN)
        {
            Decrement(window[_windowStart]);
            window[_windowStart] = token;
            _windowStart = (_windowStart + 1) % window.Length;
        }
        else
        {
            if (_windowCount == window.Length)
            {
                // Not yet full (the ring has not wrapped, so its start is 0): grow, amortised. A bounded window
                // stops at exactly PenaltyLastN entries so that the ring arithmetic below stays modulo N.
                int newLength = _penaltyLastN > 0 ? Math.Min(window.Length * 2, _penaltyLastN) : window.Length * 2;
                Array.Resize(ref _window, newLength);
                window = _window;
            }

            window[(_windowStart + _windowCount) % window.Length] = token;
            _windowCount++;
        }

        Increment(token);
    }

    /// <summary>Forgets the penalty history and restarts the random sequence from <see cref="Seed"/>.</summary>
    public void Reset()
    {
        if (_penaltiesOn)
        {
            for (int i = 0; i < _distinctCount; i++)
                _counts![_distinct![i]] = 0;
            _distinctCount = 0;
            _windowStart = 0;
            _windowCount = 0;
        }

        _rng = new SamplerRandom(Seed);
    }

    /// <summary>Number of tokens of the current penalty window (for tests).</summary>
    internal int PenaltyWindowCount => _windowCount;

    /// <summary>
    /// Applies the repeat, frequency and presence penalties for the current history to <paramref name="logits"/>:
    /// for each token seen c &gt; 0 times, a positive logit is divided by the repeat penalty and a non-positive one
    /// multiplied by it, then c·frequency + presence is subtracted.
    /// </summary>
    internal void ApplyPenalties(Span<float> logits)
    {
        if (!_penaltiesOn)
            return;
        var counts = _counts!;
        var distinct = _distinct!;
        for (int i = 0; i < _distinctCount; i++)
        {
            int t = distinct[i];
            int c = counts[t];
            float l = logits[t];
            l = l <= 0f ? l * _repeatPenalty : l / _repeatPenalty;
            l -= c * _frequencyPenalty + _presencePenalty;
            logits[t] = l;
        }
    }

    private void Increment(int token)
    {
        if (_counts![token]++ == 0)
        {
            _distinctPos![token] = _distinctCount;
            _distinct![_distinctCount++] = token;
        }
    }

    private void Decrement(int token)
    {
        if (--_counts![token] == 0)
        {
            int pos = _distinctPos![token];
            int last = _distinct![--_distinctCount];
            _distinct[pos] = last;
            _distinctPos[last] = pos;
        }
    }

    /// <summary>Index of the largest logit; the lowest id wins ties; NaN never wins.</summary>
    internal static int Argmax(ReadOnlySpan<float> logits)
    {
        int best = -1;
        float bestVal = float.NegativeInfinity;
        for (int i = 0; i < logits.Length; i++)
        {
            float v = logits[i];
            if (v > bestVal || (best < 0 && v == bestVal))
            {
                best = i;
                bestVal = v;
            }
        }

        if (best < 0)
            throw new InvalidOperationException("no token can be sampled: every logit is NaN");
        return best;
    }

    /// <summary>Fills the candidate arrays; with top-k active they hold the k best, sorted (descending, ties by id).</summary>
    private int BuildCandidates(float[] buf, out bool sorted)
    {
        if (_topK > 0 && _topK < buf.Length)
        {
            sorted = true;
            return SelectTopK(buf, _topK);
        }

        sorted = false;
        int n = 0;
        for (int i = 0; i < buf.Length; i++)
        {
            float v = buf[i];
            if (v > float.NegativeInfinity)
            {
                _candIds[n] = i;
                _candLogits[n] = v;
                n++;
            }
        }

        return n;
    }

    /// <summary>True when candidate (va, ia) ranks below (vb, ib): lower logit, or equal logit and higher id.</summary>
    private static bool RanksBelow(float va, int ia, float vb, int ib) => va < vb || (va == vb && ia > ib);

    /// <summary>Top-k by a size-k min-heap (root = weakest kept), then heap-sorted into descending order.</summary>
    private int SelectTopK(float[] buf, int k)
    {
        var ids = _candIds;
        var vals = _candLogits;
        int size = 0;
        for (int i = 0; i < buf.Length; i++)
        {
            float v = buf[i];
            if (!(v > float.NegativeInfinity))
                continue;
            if (size < k)
            {
                // Sift up.
                int pos = size++;
                while (pos > 0)
                {
                    int parent = (pos - 1) >> 1;
                    if (!RanksBelow(v, i, vals[parent], ids[parent]))
                        break;
                    ids[pos] = ids[parent];
                    vals[pos] = vals[parent];
                    pos = parent;
                }

                ids[pos] = i;
                vals[pos] = v;
            }
            else if (RanksBelow(vals[0], ids[0], v, i))
            {
                SiftDown(0, size, v, i);
            }
        }

        // Heap sort: repeatedly move the weakest to the end → descending order.
        for (int end = size - 1; end > 0; end--)
        {
            int rootId = ids[0];
            float rootVal = vals[0];
            SiftDown(0, end, vals[end], ids[end]);
            ids[end] = rootId;
            vals[end] = rootVal;
        }

        return size;
    }

    private void SiftDown(int pos, int size, float v, int id)
    {
        var ids = _candIds;
        var vals = _candLogits;
        while (true)
        {
            int child = 2 * pos + 1;
            if (child >= size)
                break;
            if (child + 1 < size && RanksBelow(vals[child + 1], ids[child + 1], vals[child], ids[child]))
                child++;
            if (!RanksBelow(vals[child], ids[child], v, id))
                break;
            ids[pos] = ids[child];
            vals[pos] = vals[child];
            pos = child;
        }

        ids[pos] = id;
        vals[pos] = v;
    }

    private void SortDescending(int n)
    {
        // Sort ascending on negated logits (no comparer allocation), then restore the sign.
        var vals = _candLogits.AsSpan(0, n);
        for (int i = 0; i < vals.Length; i++)
            vals[i] = -vals[i];
        vals.Sort(_candIds.AsSpan(0, n));
        for (int i = 0; i < vals.Length; i++)
            vals[i] = -vals[i];
    }

    /// <summary>Keeps the shortest prefix (of the sorted candidates) whose softmax mass reaches top-p; at least one.</summary>
    private int TopP(int n)
    {
        var vals = _candLogits.AsSpan(0, n);
        float max = vals[0];
        double sum = 0;
        for (int i = 0; i < vals.Length; i++)
            sum += Math.Exp(vals[i] - max);

        double target = _topP * sum;
        double cum = 0;
        for (int i = 0; i < vals.Length; i++)
        {
            cum += Math.Exp(vals[i] - max);
            if (cum >= target)
                return i + 1;
        }

        return n;
    }

    /// <summary>Keeps candidates whose probability is at least min-p times the best one's (logit ≥ max + ln min-p).</summary>
    private int MinP(int n, bool sorted)
    {
        var vals = _candLogits.AsSpan(0, n);
        float max = float.NegativeInfinity;
        if (sorted)
        {
            max = vals[0];
        }
        else
        {
            for (int i = 0; i < vals.Length; i++)
                max = MathF.Max(max, vals[i]);
        }

        float threshold = MathF.Min(max + MathF.Log(_minP), max);
        if (sorted)
        {
            int keep = 1;
            while (keep < n && vals[keep] >= threshold)
                keep++;
            return keep;
        }

        var ids = _candIds.AsSpan(0, n);
        int m = 0;
        for (int i = 0; i < n; i++)
        {
            if (vals[i] >= threshold)
            {
                vals[m] = vals[i];
                ids[m] = ids[i];
                m++;
            }
        }

        return m; // ≥ 1: the maximum always passes
    }

    /// <summary>Softmax over the candidates and one draw.</summary>
    private int Draw(int n)
    {
        var vals = _candLogits.AsSpan(0, n);
        if (n == 1)
            return _candIds[0];
        float max = float.NegativeInfinity;
        for (int i = 0; i < vals.Length; i++)
            max = MathF.Max(max, vals[i]);
        if (float.IsPositiveInfinity(max))
            return _candIds[vals.IndexOf(max)];
        double sum = 0;
        for (int i = 0; i < vals.Length; i++)
        {
            float p = MathF.Exp(vals[i] - max);
            vals[i] = p;
            sum += p;
        }

        double r = _rng.NextDouble() * sum;
        double acc = 0;
        for (int i = 0; i < vals.Length; i++)
        {
            acc += vals[i];
            if (r < acc)
                return _candIds[i];
        }

        // Rounding: r fell past the last bucket; return the last token with non-zero probability.
        for (int i = n - 1; i >= 0; i--)
        {
            if (vals[i] > 0)
                return _candIds[i];
        }

        return _candIds[0];
    }
}
