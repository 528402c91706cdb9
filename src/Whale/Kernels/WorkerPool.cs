namespace Whale.Kernels;

/// <summary>STUB (sequential) until the kernels work lands: runs every worker index on the caller.</summary>
public sealed class WorkerPool : IDisposable
{
    public WorkerPool(int threads) { Threads = Math.Max(1, threads); }
    public int Threads { get; }
    public void Run(Action<int, int> body) { for (int i = 0; i < Threads; i++) body(i, Threads); }
    public static (int start, int end) Split(int total, int index, int count, int align = 1)
    {
        int chunks = (total + align - 1) / align;
        int per = (chunks + count - 1) / count;
        int s = Math.Min(total, index * per * align), e = Math.Min(total, (index + 1) * per * align);
        return (s, e);
    }
    public void Dispose() { }
}
