using System.Runtime.ExceptionServices;

namespace Whale.Kernels;

/// <summary>
/// A fixed set of persistent worker threads for data-parallel kernels. <see cref="Run(Action{int, int})"/> calls the body once on
/// every worker (the calling thread is worker 0) and returns when all have finished. Idle workers spin briefly
/// for the next job, then block, so an idle pool uses no CPU. The <c>Run(delegate*, void*)</c> overload
/// takes a static function and a state pointer instead of a delegate, for hot paths that must not allocate.
/// </summary>
public sealed unsafe class WorkerPool : IDisposable
{
    private const int SpinIterations = 200;
    /// <summary>
    /// How long Run spins for the other workers to finish before it blocks. On a VM a blocked thread's wake-up costs
    /// tens of microseconds (the idle vCPU halts), about what one decode-step product takes, so blocking there would
    /// put that latency on the critical path of most products. The spin does not yield: the pool has one worker per
    /// core by default (yielding spins measured 2-4 % slower on a 2-thread decode).
    /// </summary>
    private static readonly long DoneSpinTicks = System.Diagnostics.Stopwatch.Frequency / 2000;   // 0.5 ms

    private readonly Thread[] _threads;
    private readonly object _gate = new();
    private readonly object _doneGate = new();
    private int _callerWaiting;     // 1 while Run's caller blocks on _doneGate
    private Action<int, int>? _body;
    private delegate*<void*, int, int, void> _fn;
    private void* _state;
    private long _generation;
    private int _sleepers;
    private int _pending;
    private int _running;
    private Exception? _error;
    private volatile bool _disposed;

    /// <summary>Creates a pool of <paramref name="workerCount"/> workers (the caller of Run plus workerCount − 1 threads).</summary>
    public WorkerPool(int workerCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workerCount, 1);
        WorkerCount = workerCount;
        _threads = new Thread[workerCount - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            int index = i + 1;
            _threads[i] = new Thread(() => WorkerLoop(index))
            {
                IsBackground = true,
                Name = $"Whale worker {index}",
            };
            _threads[i].Start();
        }
    }

    /// <summary>Number of workers, the calling thread included.</summary>
    public int WorkerCount { get; }

    /// <summary>
    /// Runs <paramref name="body"/>(workerIndex, workerCount) on every worker and waits for all of them. The first
    /// exception thrown by any worker is rethrown here after all have finished. Not reentrant.
    /// </summary>
    public void Run(Action<int, int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        Run(body, null, null);
    }

    /// <summary>
    /// Runs <paramref name="body"/>(<paramref name="state"/>, workerIndex, workerCount) on every worker and waits for
    /// all of them: the allocation-free form of <see cref="Run(Action{int, int})"/> (state usually points to a struct
    /// on the caller's stack, alive until Run returns). Same exception and reentrancy rules.
    /// </summary>
    public void Run(delegate*<void*, int, int, void> body, void* state)
    {
        if (body == null) throw new ArgumentNullException(nameof(body));
        Run(null, body, state);
    }

    private void Run(Action<int, int>? body, delegate*<void*, int, int, void> fn, void* state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _running, 1) != 0)
            throw new InvalidOperationException("WorkerPool.Run is not reentrant");
        try
        {
            if (WorkerCount == 1)
            {
                Invoke(body, fn, state, 0, 1);
                return;
            }
            _error = null;
            _body = body;
            _fn = fn;
            _state = state;
            Volatile.Write(ref _pending, WorkerCount - 1);
            Interlocked.Increment(ref _generation);
            if (Volatile.Read(ref _sleepers) > 0)
            {
                lock (_gate) Monitor.PulseAll(_gate);
            }
            try
            {
                Invoke(body, fn, state, 0, WorkerCount);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            if (Volatile.Read(ref _pending) != 0)
                WaitDone();
            _body = null;
            _fn = null;
            _state = null;
            if (_error is { } error)
                ExceptionDispatchInfo.Capture(error).Throw();
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>
    /// Returns once _pending is 0: spins first, then blocks. The condition is always _pending itself, never a signal
    /// (a worker of the previous Run can still be on its way to signalling when the next Run starts).
    /// </summary>
    private void WaitDone()
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        while (Volatile.Read(ref _pending) != 0)
        {
            if (System.Diagnostics.Stopwatch.GetTimestamp() - start > DoneSpinTicks)
            {
                lock (_doneGate)
                {
                    Interlocked.Exchange(ref _callerWaiting, 1);   // full fence: a worker that then sees 0 pending pulses
                    while (Volatile.Read(ref _pending) != 0) Monitor.Wait(_doneGate);
                    Volatile.Write(ref _callerWaiting, 0);
                }
                return;
            }
            Thread.SpinWait(8);
        }
    }

    private static void Invoke(Action<int, int>? body, delegate*<void*, int, int, void> fn, void* state, int index, int count)
    {
        if (body is not null) body(index, count);
        else fn(state, index, count);
    }

    /// <summary>Rows [start, end) of worker <paramref name="index"/> of <paramref name="count"/>, boundaries multiples of <paramref name="align"/>.</summary>
    public static (int start, int end) Split(int total, int index, int count, int align = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(align, 1);
        if ((uint)index >= (uint)count) throw new ArgumentOutOfRangeException(nameof(index));
        long units = (total + (long)align - 1) / align;
        long start = units * index / count * align;
        long end = units * (index + 1) / count * align;
        return ((int)Math.Min(start, total), (int)Math.Min(end, total));
    }

    private void WorkerLoop(int index)
    {
        long seen = 0;
        while (true)
        {
            long gen = WaitForWork(seen);
            if (_disposed) return;
            seen = gen;
            try
            {
                Invoke(_body, _fn, _state, index, WorkerCount);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            if (Interlocked.Decrement(ref _pending) == 0 && Volatile.Read(ref _callerWaiting) != 0)
            {
                lock (_doneGate) Monitor.PulseAll(_doneGate);
            }
        }
    }

    private long WaitForWork(long seen)
    {
        var spin = new SpinWait();
        for (int i = 0; i < SpinIterations; i++)
        {
            long g = Volatile.Read(ref _generation);
            if (g != seen || _disposed) return g;
            spin.SpinOnce(sleep1Threshold: -1);
        }
        lock (_gate)
        {
            Interlocked.Increment(ref _sleepers);
            try
            {
                while (true)
                {
                    long g = Interlocked.Read(ref _generation);
                    if (g != seen || _disposed) return g;
                    Monitor.Wait(_gate);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _sleepers);
            }
        }
    }

    /// <summary>Stops and joins the worker threads.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (_gate) Monitor.PulseAll(_gate);
        foreach (var t in _threads) t.Join();
    }
}
