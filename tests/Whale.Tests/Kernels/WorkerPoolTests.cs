using Whale.Kernels;

namespace Whale.Tests.Kernels;

public unsafe class WorkerPoolTests
{
    private struct Hits
    {
        public int* Counts;
        public int Workers;
        public int Throw;
    }

    private static void Count(void* state, int index, int count)
    {
        ref var h = ref *(Hits*)state;
        if (count != h.Workers) throw new InvalidOperationException($"count {count}");
        if (index == h.Throw) throw new InvalidOperationException("boom " + index);
        Interlocked.Increment(ref h.Counts[index]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void FunctionPointerRunPassesStateToEveryIndexAndAllocatesNothing(int workers)
    {
        using var pool = new WorkerPool(workers);
        int* counts = stackalloc int[workers];
        var h = new Hits { Counts = counts, Workers = workers, Throw = -1 };
        pool.Run(&Count, &h);                                        // warm-up
        long fewest = long.MaxValue;                                 // min over rounds: see WeightMatrixTests
        for (int round = 0; round < 4; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int iter = 0; iter < 50; iter++) pool.Run(&Count, &h);
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, fewest);
        for (int i = 0; i < workers; i++) Assert.Equal(201, counts[i]);

        h.Throw = workers - 1;
        string? message = null;
        try { pool.Run(&Count, &h); }
        catch (InvalidOperationException e) { message = e.Message; }
        Assert.Equal("boom " + (workers - 1), message);
        h.Throw = -1;
        pool.Run(&Count, &h);                                        // still usable, delegate form too
        Assert.Equal(202, counts[workers - 1]);                     // 201 + this run; not the failed one
        bool nullRejected = false;
        try { pool.Run(null, &h); }
        catch (ArgumentNullException) { nullRejected = true; }
        Assert.True(nullRejected);
        int n = 0;
        pool.Run((_, _) => Interlocked.Increment(ref n));
        Assert.Equal(workers, n);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void RunsEveryIndexOnceAndIsReusable(int workers)
    {
        using var pool = new WorkerPool(workers);
        Assert.Equal(workers, pool.WorkerCount);
        for (int iter = 0; iter < 500; iter++)
        {
            var hits = new int[workers];
            pool.Run((i, n) =>
            {
                Assert.Equal(workers, n);
                Interlocked.Increment(ref hits[i]);
            });
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void RunReturnsOnlyAfterEveryWorkerFinishedWhetherTheCallerSpinsOrBlocks()
    {
        // the other workers sometimes finish at once (the caller is still spinning), sometimes after the caller's spin
        // budget (it blocks): in both cases no body may still be running when Run returns, and a late wake-up of one
        // Run must not end the next one early
        using var pool = new WorkerPool(3);
        int running = 0;
        long finished = 0;
        for (int i = 0; i < 1500; i++)
        {
            double micros = (i % 3) switch { 0 => 0, 1 => 50, _ => 800 };
            pool.Run((w, n) =>
            {
                Interlocked.Increment(ref running);
                if (w != 0)
                {
                    long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    while (System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMicroseconds < micros) Thread.SpinWait(20);
                }
                Interlocked.Decrement(ref running);
                Interlocked.Increment(ref finished);
            });
            Assert.Equal(0, Volatile.Read(ref running));
            Assert.Equal((i + 1) * 3L, Interlocked.Read(ref finished));
        }
    }

    [Fact]
    public void WakesUpAfterIdling()
    {
        using var pool = new WorkerPool(3);
        for (int iter = 0; iter < 3; iter++)
        {
            Thread.Sleep(50);
            int count = 0;
            pool.Run((_, _) => Interlocked.Increment(ref count));
            Assert.Equal(3, count);
        }
    }

    [Fact]
    public void PropagatesWorkerExceptionsAndStaysUsable()
    {
        using var pool = new WorkerPool(3);
        var ex = Assert.Throws<InvalidOperationException>(() => pool.Run((i, _) =>
        {
            if (i == 2) throw new InvalidOperationException("boom");
        }));
        Assert.Equal("boom", ex.Message);
        Assert.Throws<ArgumentException>(() => pool.Run((i, _) =>
        {
            if (i == 0) throw new ArgumentException("caller");
        }));
        int count = 0;
        pool.Run((_, _) => Interlocked.Increment(ref count));
        Assert.Equal(3, count);
    }

    [Fact]
    public void SplitCoversRangeWithAlignment()
    {
        foreach (int total in new[] { 0, 1, 7, 64, 100, 4099 })
            foreach (int count in new[] { 1, 2, 3, 8 })
                foreach (int align in new[] { 1, 4, 16 })
                {
                    int next = 0;
                    for (int i = 0; i < count; i++)
                    {
                        var (s, e) = WorkerPool.Split(total, i, count, align);
                        Assert.Equal(next, s);
                        Assert.True(e >= s);
                        if (e < total) Assert.Equal(0, e % align);
                        next = e;
                    }
                    Assert.Equal(total, next);
                }
    }

    [Fact]
    public void DisposeJoinsThreads()
    {
        var pool = new WorkerPool(4);
        pool.Run((_, _) => { });
        pool.Dispose();
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Run((_, _) => { }));
    }
}
