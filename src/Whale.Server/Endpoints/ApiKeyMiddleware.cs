using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Whale.Server.Errors;

namespace Whale.Server.Endpoints;

/// <summary>
/// Checks <c>Authorization: Bearer KEY</c> when keys are configured, on every path but /health, /metrics and the chat
/// page's static files (the page asks for a key itself). A request with a valid key gets its conversation owner
/// (<see cref="OwnerItem"/>: the SHA-256 of the key, hex) in <c>HttpContext.Items</c>.
/// </summary>
internal sealed class ApiKeyMiddleware(RequestDelegate next, IReadOnlyList<string> keys)
{
    /// <summary>The <c>HttpContext.Items</c> key of the request's conversation owner.</summary>
    public const string OwnerItem = "whale.owner";

    private readonly byte[][] _keys = keys.Select(Encoding.UTF8.GetBytes).ToArray();

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (_keys.Length == 0 || path.StartsWithSegments("/health") || path.StartsWithSegments("/metrics") || Web.WebUi.IsPublicPath(context.Request))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        string header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            await ErrorWriter.WriteAsync(context, new ApiException(401, "Authentication Fails: no API key given (Authorization: Bearer KEY)")).ConfigureAwait(false);
            return;
        }
        var given = Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim());
        bool ok = false;
        foreach (var key in _keys) ok |= CryptographicOperations.FixedTimeEquals(key, given);
        if (!ok)
        {
            await ErrorWriter.WriteAsync(context, new ApiException(401, "Authentication Fails: the API key is invalid")).ConfigureAwait(false);
            return;
        }
        context.Items[OwnerItem] = Convert.ToHexStringLower(SHA256.HashData(given));
        await next(context).ConfigureAwait(false);
    }
}
