using Microsoft.AspNetCore.Http;
using Whale.Server.Errors;

namespace Whale.Server.Endpoints;

/// <summary>
/// Reads a request body up to a size limit (413 beyond it). A body up to <see cref="DrainFactor"/> times the
/// limit is read to its end before the 413 is sent, so the client sees the answer instead of a reset connection;
/// Kestrel cuts off anything larger.
/// </summary>
internal static class BodyReader
{
    /// <summary>How many times the limit Kestrel accepts (and we drain) before it aborts the connection.</summary>
    public const int DrainFactor = 4;

    public static async Task<byte[]> ReadAsync(HttpContext context, long limit)
    {
        using var ms = new MemoryStream();
        var buffer = new byte[16384];
        bool tooLarge = context.Request.ContentLength > limit;
        try
        {
            int n;
            while ((n = await context.Request.Body.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (ms.Length + n > limit) tooLarge = true;
                if (!tooLarge) ms.Write(buffer, 0, n);
            }
            if (tooLarge) throw TooLarge(limit);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413)
        {
            throw TooLarge(limit);
        }
        return ms.ToArray();
    }

    private static ApiException TooLarge(long limit) => new(413, $"the request body is larger than the limit of {limit} bytes", null, "request_too_large");
}
