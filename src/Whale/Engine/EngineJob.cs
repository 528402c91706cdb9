using System.Diagnostics;
using System.Threading.Channels;

namespace Whale.Engine;

/// <summary>One submitted request inside an engine: its cancellation (client or shutdown) and its event stream.</summary>
internal class EngineJob : IDisposable
{
    public const int Waiting = 0, Running = 1, Cancelled = 2;

    /// <summary><see cref="Waiting"/>, <see cref="Running"/> or <see cref="Cancelled"/>; changed with Interlocked only.</summary>
    public int State;
    private bool _disposed;

    public EngineJob(EngineRequest request, CancellationToken requestToken, CancellationToken shutdown)
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
        if (_disposed) return;
        _disposed = true;
        Registration.Dispose();
        Cancel.Dispose();
    }
}
