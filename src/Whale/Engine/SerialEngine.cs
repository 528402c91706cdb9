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
    private readonly Channel<Job> _queue = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Slot[] _slots;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _accepting = true;
    private int _waiting, _running;
    private long _queries, _hits, _prefill, _generated, _finished, _tick;

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
        ArgumentNullException.ThrowIfNull(request);
        if (!_accepting) throw new EngineUnavailableException();
        if (request.PromptTokens.Count == 0) throw new ArgumentException("the prompt has no tokens", nameof(request));
        if (request.PromptTokens.Count >= ContextSize)
            throw new ArgumentException($"the prompt has {request.PromptTokens.Count} tokens, more than the context size {ContextSize} allows", nameof(request));
        if (request.N < 1) throw new ArgumentException("n must be at least 1", nameof(request));
        foreach (int t in request.PromptTokens)
            if ((uint)t >= (uint)_model.Config.VocabSize) throw new ArgumentException($"token id {t} is outside the vocabulary", nameof(request));
        if (Interlocked.Increment(ref _waiting) > _options.MaxWaiting + FreeSlots())
        {
            Interlocked.Decrement(ref _waiting);
            throw new EngineQueueFullException($"{_options.MaxWaiting} requests are already waiting; retry later");
        }
        var job = new Job(request, cancellationToken, _shutdown.Token);
        job.Registration = job.Cancel.Token.Register(() =>
        {
            // Still waiting: leave the queue now (the loop skips it); running: the generator sees the token.
            if (Interlocked.CompareExchange(ref job.State, Job.Cancelled, Job.Waiting) == Job.Waiting)
            {
                Interlocked.Decrement(ref _waiting);
                Interlocked.Increment(ref _finished);
                job.Events.Writer.TryComplete(new OperationCanceledException(job.Cancel.Token));
            }
        });
        if (!_queue.Writer.TryWrite(job))
        {
            Interlocked.Decrement(ref _waiting);
            throw new EngineUnavailableException();
        }
        return job.Events.Reader;
    }

    private int FreeSlots() => Math.Max(0, _options.Parallel - Volatile.Read(ref _running));

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
        return new EngineStats
        {
            RunningRequests = Volatile.Read(ref _running),
            WaitingRequests = Volatile.Read(ref _waiting),
            KvCacheUsage = (double)active / ((long)_options.Parallel * ContextSize),
            KvCachedTokens = held,
            KvCapacityTokens = (long)_slots.Length * ContextSize,
            PrefixCacheQueriesTotal = Interlocked.Read(ref _queries),
            PrefixCacheHitsTotal = Interlocked.Read(ref _hits),
            PrefillTokensTotal = Interlocked.Read(ref _prefill),
            GeneratedTokensTotal = Interlocked.Read(ref _generated),
            FinishedRequestsTotal = Interlocked.Read(ref _finished),
        };
    }

    /// <inheritdoc/>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        _accepting = false;
        try
        {
            while (Volatile.Read(ref _waiting) + Volatile.Read(ref _running) > 0)
                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await _shutdown.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Cancels every request and stops the thread.</summary>
    public async ValueTask DisposeAsync()
    {
        _accepting = false;
        if (!_shutdown.IsCancellationRequested) await _shutdown.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        await _stopped.Task.ConfigureAwait(false);
        foreach (var s in _slots) s.Generator.Dispose();
        _shutdown.Dispose();
    }

    private void Loop()
    {
        var active = new List<Slot>();
        try
        {
            while (true)
            {
                // Admit waiting requests while sequences are free.
                while (active.Count < _options.Parallel && _queue.Reader.TryRead(out var job))
                {
                    if (Interlocked.CompareExchange(ref job.State, Job.Running, Job.Waiting) != Job.Waiting)
                    {
                        job.Dispose();
                        continue;
                    }
                    Interlocked.Decrement(ref _waiting);
                    Interlocked.Increment(ref _running);
                    var slot = Pick(job.Request);
                    slot.Job = job;
                    slot.Steps = Run(slot, job).GetEnumerator();
                    active.Add(slot);
                }
                if (active.Count == 0)
                {
                    if (!_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) break;
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
            while (_queue.Reader.TryRead(out var job))
            {
                if (Interlocked.CompareExchange(ref job.State, Job.Cancelled, Job.Waiting) == Job.Waiting)
                {
                    Interlocked.Decrement(ref _waiting);
                    job.Events.Writer.TryComplete(new EngineUnavailableException());
                }
                job.Dispose();
            }
            _stopped.TrySetResult();
        }
    }

    private void Finish(Slot slot, Exception? error)
    {
        var job = slot.Job!;
        slot.Steps?.Dispose();
        slot.Steps = null;
        slot.Job = null;
        slot.LastUsed = ++_tick;
        job.Events.Writer.TryComplete(error);
        job.Dispose();
        Interlocked.Decrement(ref _running);
        Interlocked.Increment(ref _finished);
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
        Interlocked.Add(ref _queries, prompt.Count);
        Interlocked.Add(ref _hits, cached);
        for (int i = 0; i < request.N; i++)
        {
            var options = request.Options;
            if (i > 0 && options.Sampling.Seed is { } seed)
                options = options with { Sampling = options.Sampling with { Seed = seed + (ulong)i } };
            Interlocked.Add(ref _prefill, prompt.Count - gen.ReusablePrefixLength(prompt));
            int completion = 0, reasoning = 0;
            string? finish = null;
            foreach (var ev in gen.Generate(prompt, options, job.Cancel.Token))
            {
                if (ev.TokenId >= 0)
                {
                    completion++;
                    if (ev.InReasoning) reasoning++;
                    Interlocked.Increment(ref _generated);
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

    private sealed class Job : IDisposable
    {
        public const int Waiting = 0, Running = 1, Cancelled = 2;
        public int State;

        public Job(EngineRequest request, CancellationToken requestToken, CancellationToken shutdown)
        {
            Request = request;
            Cancel = CancellationTokenSource.CreateLinkedTokenSource(requestToken, shutdown);
        }

        public EngineRequest Request { get; }
        public CancellationTokenSource Cancel { get; }
        public long Submitted { get; } = Stopwatch.GetTimestamp();
        public Channel<EngineEvent> Events { get; } = Channel.CreateUnbounded<EngineEvent>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
        public CancellationTokenRegistration Registration { get; set; }

        public void Dispose()
        {
            Registration.Dispose();
            Cancel.Dispose();
        }
    }
}
