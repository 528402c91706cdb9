using System.Text;
using Microsoft.AspNetCore.Http;

namespace Whale.Server.Streaming;

/// <summary>Server-sent events: <c>data: {json}\n\n</c>, <c>: keep-alive</c> comments and <c>data: [DONE]</c>.</summary>
internal sealed class SseWriter(HttpResponse response, CancellationToken cancellationToken)
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    public async Task StartAsync()
    {
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task DataAsync(byte[] json)
    {
        var body = response.Body;
        await body.WriteAsync(DataPrefix, cancellationToken).ConfigureAwait(false);
        await body.WriteAsync(json, cancellationToken).ConfigureAwait(false);
        await body.WriteAsync(EventEnd, cancellationToken).ConfigureAwait(false);
        await body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task KeepAliveAsync()
    {
        await response.Body.WriteAsync(KeepAlive, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task DoneAsync()
    {
        await response.Body.WriteAsync(Done, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public static string Text(byte[] json) => Encoding.UTF8.GetString(json);
}
