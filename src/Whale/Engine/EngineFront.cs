using System.Threading.Channels;

namespace Whale.Engine;

/// <summary>
/// What every engine does the same way around its generation loop: request validation and admission (queue
/// limit), the queue to the loop thread, cancellation of waiting requests, the counters behind
/// <see cref="EngineStats"/>, draining and stopping. The engine owns the loop and the counters' meaning.
/// </summary>
internal sealed class EngineFront<TJob> where TJob : EngineJob
{
    private readonly Channel<TJob> _queue = Channel.CreateUnbounded<TJob>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _shutdown = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _accepting = true;

    // Counters, updated with Interlocked by the engine.
    public int WaitingCount, RunningCount;
    public long Queries, Hits, Prefill, Generated, Finished;

    public ChannelReader<TJob> Queue => _queue.Reader;
    public CancellationToken ShutdownToken => _shutdown.Token;

    /// <summary>Checks a request against the context and the vocabulary; throws when the engine stopped accepting.</summary>
    public void Validate(EngineRequest request, int contextSize, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_accepting) throw new EngineUnavailableException();
        if (request.PromptTokens.Count == 0) throw new ArgumentException("the prompt has no tokens", nameof(request));
        if (request.PromptTokens.Count >= contextSize)
            throw new ArgumentException($"the prompt has {request.PromptTokens.Count} tokens, more than the context size {contextSize} allows", nameof(request));
        if (request.N < 1) throw new ArgumentException("n must be at least 1", nameof(request));
        foreach (int t in request.PromptTokens)
            if ((uint)t >= (uint)vocabSize) throw new ArgumentException($"token id {t} is outside the vocabulary", nameof(request));
    }

    /// <summary>
    /// Admits <paramref name="job"/> when fewer than <paramref name="maxWaiting"/> + <paramref name="freeSlots"/>
    /// requests wait, and queues it; a waiting job whose token fires leaves at once with its stream completed.
    /// </summary>
    public ChannelReader<EngineEvent> Enqueue(TJob job, int maxWaiting, int freeSlots)
    {
        if (Interlocked.Increment(ref WaitingCount) > maxWaiting + Math.Max(0, freeSlots))
        {
            Interlocked.Decrement(ref WaitingCount);
            job.Dispose();
            throw new EngineQueueFullException($"{maxWaiting} requests are already waiting; retry later");
        }
        // Still waiting: leave the queue now (the loop drops it); running: the loop sees the token.
        job.Registration = job.Cancel.Token.Register(() => CancelIfWaiting(job, new OperationCanceledException(job.Cancel.Token), countFinished: true));
        if (!_queue.Writer.TryWrite(job))
        {
            Interlocked.Decrement(ref WaitingCount);
            job.Dispose();
            throw new EngineUnavailableException();
        }
        return job.Events.Reader;
    }

    /// <summary>Ends a job that has not started: completes its stream with <paramref name="error"/>. False when it had started.</summary>
    public bool CancelIfWaiting(TJob job, Exception error, bool countFinished)
    {
        if (Interlocked.CompareExchange(ref job.State, EngineJob.Cancelled, EngineJob.Waiting) != EngineJob.Waiting) return false;
        Interlocked.Decrement(ref WaitingCount);
        if (countFinished) Interlocked.Increment(ref Finished);
        job.Events.Writer.TryComplete(error);
        return true;
    }

    /// <summary>Moves a waiting job to running; false when it was cancelled meanwhile.</summary>
    public bool TryStart(TJob job)
    {
        if (Interlocked.CompareExchange(ref job.State, EngineJob.Running, EngineJob.Waiting) != EngineJob.Waiting) return false;
        Interlocked.Decrement(ref WaitingCount);
        Interlocked.Increment(ref RunningCount);
        return true;
    }

    /// <summary>Ends a running job: completes its stream (with <paramref name="error"/> when it failed) and counts it.</summary>
    public void Complete(TJob job, Exception? error)
    {
        job.Events.Writer.TryComplete(error);
        job.Dispose();
        Interlocked.Decrement(ref RunningCount);
        Interlocked.Increment(ref Finished);
    }

    /// <summary>The counters; the engine adds its KV cache figures.</summary>
    public EngineStats Counters() => new()
    {
        RunningRequests = Volatile.Read(ref RunningCount),
        WaitingRequests = Volatile.Read(ref WaitingCount),
        PrefixCacheQueriesTotal = Interlocked.Read(ref Queries),
        PrefixCacheHitsTotal = Interlocked.Read(ref Hits),
        PrefillTokensTotal = Interlocked.Read(ref Prefill),
        GeneratedTokensTotal = Interlocked.Read(ref Generated),
        FinishedRequestsTotal = Interlocked.Read(ref Finished),
    };

    /// <summary>Blocks the loop thread until a job is queued; false once the queue is closed.</summary>
    public bool WaitForWork() => _queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>See <see cref="IInferenceEngine.DrainAsync"/>.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        _accepting = false;
        try
        {
            while (Volatile.Read(ref WaitingCount) + Volatile.Read(ref RunningCount) > 0)
                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await _shutdown.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Cancels every request, closes the queue and waits until the loop has called <see cref="LoopEnded"/>.</summary>
    public async Task StopAsync()
    {
        _accepting = false;
        if (!_shutdown.IsCancellationRequested) await _shutdown.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        await _stopped.Task.ConfigureAwait(false);
        _shutdown.Dispose();
    }

    /// <summary>Called last by the loop thread: refuses whatever is still queued and releases <see cref="StopAsync"/>.</summary>
    public void LoopEnded()
    {
        while (_queue.Reader.TryRead(out var job))
        {
            CancelIfWaiting(job, new EngineUnavailableException(), countFinished: false);
            job.Dispose();
        }
        _stopped.TrySetResult();
    }
}
