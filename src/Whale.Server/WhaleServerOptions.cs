namespace Whale.Server;

/// <summary>Where the server listens and what it accepts.</summary>
public sealed record WhaleServerOptions
{
    /// <summary>Address to bind (default loopback only).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (see <see cref="WhaleServer.Urls"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Accepted API keys (<c>Authorization: Bearer KEY</c>); empty = no authentication.</summary>
    public IReadOnlyList<string> ApiKeys { get; init; } = [];

    /// <summary>Largest request body in bytes (larger: 413). Default 8 MiB.</summary>
    public long MaxRequestBodyBytes { get; init; } = 8L << 20;

    /// <summary>Largest <c>n</c> (choices per request). Default 8.</summary>
    public int MaxChoices { get; init; } = 8;

    /// <summary>Largest <c>max_tokens</c>; null = the engine's context size.</summary>
    public int? MaxTokensLimit { get; init; }

    /// <summary>Interval of <c>: keep-alive</c> SSE comments while a streamed request waits or computes. Default 10 s.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>On shutdown, how long running requests may finish before they are cancelled. Default 10 s.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>SQLite file of the chat page's conversations; null = an in-memory database (lost at shutdown).</summary>
    public string? DatabasePath { get; init; }

    /// <summary>Folder of the built chat page (index.html + assets/); null = wwwroot/ beside the app, else web/dist in
    /// a checkout above it.</summary>
    public string? WebRoot { get; init; }
}
