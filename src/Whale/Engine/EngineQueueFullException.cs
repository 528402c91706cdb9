namespace Whale.Engine;

/// <summary>The engine's queue of waiting requests is full; retry later (HTTP 429).</summary>
public sealed class EngineQueueFullException : Exception
{
    public EngineQueueFullException() : base("too many requests are waiting; retry later") { }

    public EngineQueueFullException(string message) : base(message) { }

    public EngineQueueFullException(string message, Exception inner) : base(message, inner) { }
}
