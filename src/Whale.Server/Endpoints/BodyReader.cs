using Microsoft.AspNetCore.Http;
using Whale.Server.Errors;

namespace Whale.Server.Endpoints;

/// <summary>Reads a request body up to a size limit (413 beyond it).</summary>
internal static class BodyReader
{
    public static async Task<byte[]> ReadAsync(HttpContext context, long limit)
    {
        if (context.Request.ContentLength > limit) throw TooLarge(limit);
        using var ms = new MemoryStream();
        var buffer = new byte[16384];
        try
        {
            int n;
            while ((n = await context.Request.Body.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (ms.Length + n > limit) throw TooLarge(limit);
                ms.Write(buffer, 0, n);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413)
        {
            throw TooLarge(limit);
        }
        return ms.ToArray();
    }

    private static ApiException TooLarge(long limit) => new(413, $"the request body is larger than the limit of {limit} bytes", null, "request_too_large");
}
