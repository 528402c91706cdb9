using System.Diagnostics;
using System.Threading.Channels;

namespace Whale.Engine;

/// <summary>
/// The first <see cref="IInferenceEngine"/>: one background thread serves up to
/// <see cref="SerialEngineOptions.Parallel"/> requests round-robin, one token each per turn, each on its own
/// <see cref="Generator"/> (one forward pass per token, no batching). Prefix caching: a request goes to the free
/// generator whose cached tokens share the longest prefix with its prompt (same cache key only), so a repeated
/// system prompt or the earlier turns of a conversation are not computed again.
/// </summary>
public sealed class SerialEngine : IInferenceEngine
{
    private readonly WhaleModel _model;
    private readonly SerialEngineOptions _options;
    private readonly EngineFront<Job> _front = new();
    private readonly Slot[] _slots;
    private readonly Thread _thread;
    private long _tick;

    /// <summary>Starts the engine's thread for <paramref name="model"/> (which it does not own).</summary>
    public SerialEngine(WhaleModel model, SerialEngineOptions? options = null)
    {
        _model = model;
        _options = options ?? new SerialEngineOptions();
        if (_options.Parallel < 1) throw new ArgumentException("parallel must be at least 1", nameof(options));
        if (_options.MaxWaiting < 0) throw new ArgumentException("max waiting must be >= 0", nameof(options));
        ContextSize = _options.ContextSize ?? model.ContextSize;
        _slots = new Slot[_options.Parallel + Math.Max(0, _options.SpareCaches)];
        for (int i = 0; i < _slots.Length; i++) _slots[i] = new Slot(model.CreateGenerator(ContextSize));
        _thread = new Thread(Loop) { IsBackground = true, Name = "whale-engine" };
        _thread.Start();
    }

    /// <inheritdoc/>
    public int ContextSize { get; }

    /// <inheritdoc/>
    public ChannelReader<EngineEvent> Submit(EngineRequest request, CancellationToken cancellationToken = default)
    {
        _front.Validate(request, ContextSize, _model.Config.VocabSize);
        return _front.Enqueue(new Job(request, cancellationToken, _front.ShutdownToken), _options.MaxWaiting, FreeSlots());
    }

    private int FreeSlots() => Math.Max(0, _options.Parallel - Volatile.Read(ref _front.RunningCount));

    /// <inheritdoc/>
    public EngineStats GetStats()
    {
        long held = 0, active = 0;
        foreach (var s in _slots)
        {
            int n = s.Generator.CachedTokens.Count;
            held += n;
            if (s.Job is not null) active += n;
        }
        return _front.Counters() with
        {
            KvCacheUsage = (double)active / ((long)_options.Parallel * ContextSize),
            KvCachedTokens = held,
            KvCapacityTokens = (long)_slots.Length * ContextSize,
        };
    }

    /// <inheritdoc/>
    public Task DrainAsync(CancellationToken cancellationToken) => _front.DrainAsync(cancellationToken);

    /// <summary>Cancels every request and stops the thread.</summary>
    public async ValueTask DisposeAsync()
    {
        await _front.StopAsync().ConfigureAwait(false);
        foreach (var s in _slots) s.Generator.Dispose();
    }

    private void Loop()
    {
        var active = new List<Slot>();
        try
        {
            while (true)
            {
                // Admit waiting requests while sequences are free.
                while (active.Count < _options.Parallel && _front.Queue.TryRead(out var job))
                {
                    if (!_front.TryStart(job))
                    {
                        job.Dispose();
                        continue;
                    }
                    var slot = Pick(job.Request);
                    slot.Job = job;
                    slot.Steps = Run(slot, job).GetEnumerator();
                    active.Add(slot);
                }
                if (active.Count == 0)
                {
                    if (!_front.WaitForWork()) break;
                    continue;
                }
                // One step (one token, or the prefill and first token) of each running request.
                for (int i = 0; i < active.Count; i++)
                {
                    var slot = active[i];
                    bool more;
                    Exception? error = null;
                    try
                    {
                        more = slot.Steps!.MoveNext();
                        if (more) slot.Job!.Events.Writer.TryWrite(slot.Steps.Current);
                    }
                    catch (Exception e)
                    {
                        more = false;
                        error = e;
                        slot.Generator.Reset();    // a failed forward pass may leave the cache half written
                    }
                    if (more) continue;
                    Finish(slot, error);
                    active.RemoveAt(i--);
                }
            }
        }
        finally
        {
            foreach (var slot in active) Finish(slot, new OperationCanceledException("the engine stopped"));
            _front.LoopEnded();
        }
    }

    private void Finish(Slot slot, Exception? error)
    {
        var job = slot.Job!;
        slot.Steps?.Dispose();
        slot.Steps = null;
        slot.Job = null;
        slot.LastUsed = ++_tick;
        _front.Complete(job, error);
    }

    /// <summary>The free generator sharing the longest prefix with the prompt (same cache key), else the least recently used.</summary>
    private Slot Pick(EngineRequest request)
    {
        Slot? best = null;
        int bestLen = -1;
        foreach (var s in _slots)
        {
            if (s.Job is not null) continue;
            int len = s.CacheKey == request.CacheKey ? s.Generator.ReusablePrefixLength(request.PromptTokens) : 0;
            if (len > bestLen || (len == bestLen && s.LastUsed < best!.LastUsed)) { best = s; bestLen = len; }
        }
        if (best!.CacheKey != request.CacheKey)
        {
            best.Generator.Reset();
            best.CacheKey = request.CacheKey;
        }
        return best;
    }

    /// <summary>The request's events, one per MoveNext, so the loop can interleave requests token by token.</summary>
    private IEnumerable<EngineEvent> Run(Slot slot, Job job)
    {
        var request = job.Request;
        var prompt = request.PromptTokens;
        var gen = slot.Generator;
        var queueTime = Stopwatch.GetElapsedTime(job.Submitted);
        int cached = gen.ReusablePrefixLength(prompt);
        Interlocked.Add(ref _front.Queries, prompt.Count);
        Interlocked.Add(ref _front.Hits, cached);
        for (int i = 0; i < request.N; i++)
        {
            var options = request.Options;
            if (i > 0 && options.Sampling.Seed is { } seed)
                options = options with { Sampling = options.Sampling with { Seed = seed + (ulong)i } };
            Interlocked.Add(ref _front.Prefill, prompt.Count - gen.ReusablePrefixLength(prompt));
            int completion = 0, reasoning = 0;
            string? finish = null;
            foreach (var ev in gen.Generate(prompt, options, job.Cancel.Token))
            {
                if (ev.TokenId >= 0)
                {
                    completion++;
                    if (ev.InReasoning) reasoning++;
                    Interlocked.Increment(ref _front.Generated);
                }
                if (!ev.IsFinal)
                {
                    yield return new EngineEvent(i, ev);
                    continue;
                }
                finish = ev.FinishReason;
                yield return new EngineEvent(i, ev) { Usage = new EngineUsage(prompt.Count, cached, completion, reasoning, queueTime) };
            }
            if (finish == "cancelled") yield break;
        }
    }

    private sealed class Slot(Generator generator)
    {
        public Generator Generator { get; } = generator;
        public string? CacheKey { get; set; }
        public long LastUsed { get; set; }
        public Job? Job { get; set; }
        public IEnumerator<EngineEvent>? Steps { get; set; }
    }

    private sealed class Job(EngineRequest request, CancellationToken requestToken, CancellationToken shutdown)
        : EngineJob(request, requestToken, shutdown);
}
