namespace Whale.Engine;

/// <summary>The engine is shutting down or was disposed and admits no new requests (HTTP 503).</summary>
public sealed class EngineUnavailableException : Exception
{
    public EngineUnavailableException() : base("the engine is shutting down") { }

    public EngineUnavailableException(string message) : base(message) { }

    public EngineUnavailableException(string message, Exception inner) : base(message, inner) { }
}
