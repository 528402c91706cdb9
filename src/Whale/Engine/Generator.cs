using Whale.Models;
using Whale.Sampling;
using Whale.Tokenization;

namespace Whale.Engine;

/// <summary>
/// Generates tokens for one conversation over its own KV cache. A new prompt that extends the previous one
/// (a multi-turn chat) reuses the cached prefix instead of recomputing it. With
/// <see cref="GenerationOptions.Speculative"/> and a model file with a multi-token-prediction block, generation drafts
/// with the block and verifies the drafts in the main model's steps (the output is the same either way). Not thread-safe.
/// </summary>
public sealed class Generator : IDisposable
{
    private readonly WhaleModel _model;
    private readonly KvCache _cache;
    private readonly List<int> _cached = [];
    private readonly float[] _logits;
    private MtpSpeculator? _speculator;

    internal Generator(WhaleModel model, int contextSize)
    {
        _model = model;
        _cache = model.Model.CreateCache(contextSize);
        _logits = new float[model.Config.VocabSize];
    }

    /// <summary>Tokens whose keys/values are in the cache.</summary>
    public IReadOnlyList<int> CachedTokens => _cached;

    public int ContextSize => _cache.ContextSize;

    /// <summary>Drafts and accepted drafts of multi-token-prediction speculation since this generator was created.</summary>
    public SpeculationStats Speculation => _speculator?.Stats ?? new SpeculationStats();

    /// <summary>True when <see cref="Generate"/> with <paramref name="options"/> speculates (the model has an MTP block and the options allow it).</summary>
    public bool Speculates(GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Speculative && _model.Model is IMtpModel { HasMtp: true };
    }

    /// <summary>Evaluates <paramref name="tokens"/> from an empty cache and returns a copy of the last position's logits.</summary>
    public float[] Evaluate(IReadOnlyList<int> tokens)
    {
        Reset();
        Prefill(tokens);
        return (float[])_logits.Clone();
    }

    /// <summary>Clears the cache.</summary>
    public void Reset()
    {
        _cache.Length = 0;
        _cached.Clear();
        _speculator?.Truncate(0);
    }

    /// <summary>
    /// Streams the continuation of <paramref name="prompt"/>. The last event has a FinishReason: "stop" (end of
    /// generation token or stop string), "length" (max tokens or context full) or "cancelled".
    /// </summary>
    public IEnumerable<TokenEvent> Generate(IReadOnlyList<int> prompt, GenerationOptions options, CancellationToken cancellationToken = default)
    {
        if (prompt.Count == 0) throw new ArgumentException("the prompt has no tokens", nameof(prompt));
        if (prompt.Count >= _cache.ContextSize)
            throw new ArgumentException($"the prompt has {prompt.Count} tokens, more than the context size {_cache.ContextSize} allows");
        var tok = _model.Tokenizer;
        var sampler = new Sampler(options.Sampling, _model.Config.VocabSize);
        foreach (var t in prompt) sampler.Accept(t);
        var decoder = tok.CreateStreamingDecoder(options.RenderSpecialTokens);
        var reasoning = options.ParseReasoning ? new ReasoningParser(options.PromptOpensThinking) : null;
        var stops = new StopMatcher(options.Stop);
        var constraint = options.Constraint?.Invoke();
        var speculator = Speculates(options)
            ? _speculator ??= new MtpSpeculator((IMtpModel)_model.Model, _cache, _model.Options.BatchSize)
            : null;

        Prefill(prompt, speculator);
        string? finish = null;
        int reasoningTokens = 0;
        Queue<int>? forced = null;
        for (int n = 0; finish is null; n++)
        {
            if (cancellationToken.IsCancellationRequested) { finish = "cancelled"; break; }
            // the committed tokens, not the cache length: a pending draft holds one more cache row
            if (n >= options.MaxTokens || _cached.Count >= _cache.ContextSize) { finish = "length"; break; }
            bool inReasoning = reasoning?.InReasoning ?? false;
            if (forced is null && inReasoning && options.ThinkingBudget is { } budget && reasoningTokens >= budget)
            {
                // Close the reasoning block ourselves: "<think>\n</think>\n\n" is R1's own form of "no reasoning".
                forced = new Queue<int>(tok.Encode(reasoningTokens == 0 ? "</think>\n\n" : "\n</think>\n\n", addSpecial: false, parseSpecial: true));
            }
            int id;
            if (forced is { Count: > 0 }) id = forced.Dequeue();
            else
            {
                if (constraint is not null && !inReasoning) constraint.ApplyMask(_logits);
                id = sampler.Sample(_logits);
            }
            if (constraint is not null && !inReasoning) constraint.Accept(id);
            var logprob = options.TopLogprobs is { } top ? Logprobs(id, top) : null;
            sampler.Accept(id);
            if (inReasoning) reasoningTokens++;
            if (tok.IsEog(id)) { finish = "stop"; break; }
            string text = decoder.Push(id);
            var (r, c) = reasoning is null ? ("", text) : reasoning.Push(text);
            (c, bool stopped) = stops.Push(c);
            if (stopped) finish = "stop";
            yield return new TokenEvent(id, r, c) { InReasoning = inReasoning, Logprob = logprob };
            if (finish is not null) break;
            // a draft pays off only if the token after the next one is still generated
            Step(id, speculator, speculate: n + 2 < options.MaxTokens);
        }
        if (finish != "stop" || !stops.Stopped)
        {
            string rest = decoder.Flush();
            var (fr, fc) = reasoning is null ? ("", rest) : reasoning.Push(rest);
            var (fr2, fc2) = reasoning?.Flush() ?? ("", "");
            var (tail, _) = stops.Push(fc + fc2);
            tail += stops.Flush();
            if (fr.Length + fr2.Length + tail.Length > 0) yield return new TokenEvent(-1, fr + fr2, tail);
        }
        yield return new TokenEvent(-1, "", "", finish);
    }

    private void Prefill(IReadOnlyList<int> prompt, MtpSpeculator? speculator = null)
    {
        int common = ReusablePrefixLength(prompt);
        _cached.RemoveRange(common, _cached.Count - common);
        _cache.Length = common;
        var rest = new int[prompt.Count - common];
        for (int i = 0; i < rest.Length; i++) rest[i] = prompt[common + i];
        if (speculator is not null) speculator.Prefill(prompt, common, _logits);
        else
        {
            _speculator?.Truncate(common);
            _model.Model.Forward(rest, _cache, _logits);
        }
        _cached.AddRange(rest);
    }

    /// <summary>
    /// How many leading tokens of <paramref name="prompt"/> the next <see cref="Generate"/> takes from the cache
    /// instead of computing them: the common prefix with <see cref="CachedTokens"/>, less one when the whole prompt
    /// is cached (the last token must run to give logits).
    /// </summary>
    public int ReusablePrefixLength(IReadOnlyList<int> prompt)
    {
        int common = 0;
        while (common < _cached.Count && common < prompt.Count && _cached[common] == prompt[common]) common++;
        if (common == prompt.Count && common > 0) common--;
        return common;
    }

    /// <summary>Log-softmax of the current logits: the chosen token's value and the <paramref name="top"/> best.</summary>
    private TokenLogprob Logprobs(int id, int top) => Logprobs(_logits, id, top);

    /// <summary>Log-softmax of <paramref name="logits"/>: the chosen token's value and the <paramref name="top"/> best.</summary>
    internal static TokenLogprob Logprobs(ReadOnlySpan<float> logits, int id, int top)
    {
        float max = float.NegativeInfinity;
        foreach (float v in logits) if (v > max) max = v;
        double sum = 0;
        foreach (float v in logits) sum += Math.Exp(v - max);
        float logZ = max + (float)Math.Log(sum);
        top = Math.Clamp(top, 0, logits.Length);
        var bestIds = new int[top];
        var bestVals = new float[top];
        int count = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            float v = logits[i];
            if (count == top && (top == 0 || v <= bestVals[top - 1])) continue;
            int at = count < top ? count++ : top - 1;
            while (at > 0 && bestVals[at - 1] < v) { bestVals[at] = bestVals[at - 1]; bestIds[at] = bestIds[at - 1]; at--; }
            bestVals[at] = v;
            bestIds[at] = i;
        }
        var alternatives = new TokenLogprob[count];
        for (int i = 0; i < count; i++) alternatives[i] = new TokenLogprob(bestIds[i], bestVals[i] - logZ);
        return new TokenLogprob(id, logits[id] - logZ) { Top = alternatives };
    }

    private void Step(int id, MtpSpeculator? speculator, bool speculate)
    {
        if (speculator is null)
        {
            _model.Model.Forward([id], _cache, _logits);
            _cached.Add(id);
            return;
        }
        _cached.Add(id);
        try { speculator.Step(_cached, _logits, speculate); }
        catch
        {
            _cached.RemoveAt(_cached.Count - 1);
            throw;
        }
    }

    public void Dispose() { }
}
