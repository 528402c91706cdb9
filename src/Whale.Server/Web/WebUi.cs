using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Whale.Server.Web;

/// <summary>
/// The chat page at <c>/</c>: the static files that <c>web/</c> builds (Vite: <c>index.html</c> + hashed
/// <c>assets/</c>). Found at <see cref="WhaleServerOptions.WebRoot"/>, else <c>wwwroot/</c> beside the app, else
/// <c>web/dist/</c> in a checkout above it. Without a build, <c>/</c> answers a page that says how to build it.
/// </summary>
internal static class WebUi
{
    /// <summary>Content-Security-Policy of the page: nothing from elsewhere, no inline scripts (KaTeX needs inline styles).</summary>
    public const string Csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
                              "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

    /// <summary>GET/HEAD of the page and its assets: served without an API key.</summary>
    public static bool IsPublicPath(HttpRequest request)
    {
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method)) return false;
        var path = request.Path;
        return path == "/" || path == "/index.html" || path == "/favicon.svg" || path.StartsWithSegments("/assets");
    }

    /// <summary>The folder with index.html, or null when the page is not built.</summary>
    public static string? FindRoot(string? configured)
    {
        if (configured is not null) return Path.GetFullPath(configured);
        string beside = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        if (File.Exists(Path.Combine(beside, "index.html"))) return beside;
        for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            string dist = Path.Combine(dir, "web", "dist");
            if (File.Exists(Path.Combine(dist, "index.html"))) return dist;
        }
        return null;
    }

    public static void Map(WebApplication app, string? root)
    {
        if (root is not null && Directory.Exists(Path.Combine(root, "assets")))
        {
            var types = new FileExtensionContentTypeProvider();
            types.Mappings[".woff2"] = "font/woff2";
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = new PhysicalFileProvider(Path.Combine(root, "assets")),
                RequestPath = "/assets",
                ContentTypeProvider = types,
                OnPrepareResponse = c => c.Context.Response.Headers.CacheControl = "public, max-age=31536000, immutable",
            });
        }
        app.MapGet("/", context => IndexAsync(context, root));
        app.MapGet("/index.html", context => IndexAsync(context, root));
        app.MapGet("/favicon.svg", async context =>
        {
            string? file = root is null ? null : Path.Combine(root, "favicon.svg");
            if (file is null || !File.Exists(file))
            {
                context.Response.StatusCode = 404;
                return;
            }
            context.Response.ContentType = "image/svg+xml";
            await context.Response.SendFileAsync(file, context.RequestAborted).ConfigureAwait(false);
        });
    }

    private static async Task IndexAsync(HttpContext context, string? root)
    {
        var headers = context.Response.Headers;
        headers.CacheControl = "no-cache";
        headers.ContentSecurityPolicy = Csp;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        string? index = root is null ? null : Path.Combine(root, "index.html");
        context.Response.ContentType = "text/html; charset=utf-8";
        if (index is not null && File.Exists(index))
        {
            await context.Response.SendFileAsync(index, context.RequestAborted).ConfigureAwait(false);
            return;
        }
        context.Response.StatusCode = 503;
        await context.Response.WriteAsync(NotBuiltPage, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>What <c>/</c> shows when the front end has not been built.</summary>
    public const string NotBuiltPage = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Whale: chat page not built</title></head>
        <body style="font-family:sans-serif;max-width:40em;margin:3em auto;line-height:1.5">
        <h1>The chat page is not built</h1>
        <p>The API works (<code>/v1/chat/completions</code>, <code>/v1/models</code>), but the web page's files were not found.
        Build them once with <code>bash scripts/demo.sh</code>, or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>,
        then reload; or start the server with <code>whale serve --web-root DIR</code> pointing at a built <code>dist</code> folder.</p>
        </body></html>
        """;
}
