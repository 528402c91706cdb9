using System.Threading.Channels;

namespace Whale.Engine;

/// <summary>
/// Serves generation requests for one loaded model, many at a time. The contract every engine keeps (the serial
/// one today, a continuous-batching one later):
/// <list type="bullet">
/// <item><see cref="Submit"/> admits or refuses a request at once (queue full, shutting down, prompt too long) and
/// returns the request's own event stream; it never blocks on generation.</item>
/// <item>Events of choice <c>i</c> (of <see cref="EngineRequest.N"/>) arrive in order; each choice ends with one
/// final event (<see cref="TokenEvent.IsFinal"/>) that carries its <see cref="EngineEvent.Usage"/>. The stream
/// completes after the last choice ends, or completes with the exception that stopped generation.</item>
/// <item>Cancelling the token passed to <see cref="Submit"/> (a client that went away) stops the request at the
/// next token, removes it from the queue if it was waiting, and frees its sequence(s).</item>
/// </list>
/// </summary>
public interface IInferenceEngine : IAsyncDisposable
{
    /// <summary>Most tokens (prompt + generated) one sequence can hold.</summary>
    int ContextSize { get; }

    /// <summary>Queues <paramref name="request"/> and returns the reader of its events.</summary>
    /// <exception cref="ArgumentException">The request is invalid (for example its prompt does not fit the context).</exception>
    /// <exception cref="EngineQueueFullException">Too many requests are waiting.</exception>
    /// <exception cref="EngineUnavailableException">The engine is shutting down or was disposed.</exception>
    ChannelReader<EngineEvent> Submit(EngineRequest request, CancellationToken cancellationToken = default);

    /// <summary>A snapshot of the counters and gauges (for metrics and health).</summary>
    EngineStats GetStats();

    /// <summary>
    /// Stops admitting requests (later <see cref="Submit"/> calls throw <see cref="EngineUnavailableException"/>)
    /// and waits until the queued and running ones have finished; when <paramref name="cancellationToken"/> fires
    /// first, the remaining requests are cancelled.
    /// </summary>
    Task DrainAsync(CancellationToken cancellationToken);
}
