using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Whale.Server.Conversations;
using Whale.Server.Endpoints;
using Whale.Server.Generation;
using Whale.Server.Hosting;
using Whale.Server.Metrics;
using Whale.Server.Web;

namespace Whale.Server;

/// <summary>
/// The HTTP server: OpenAI- and DeepSeek-compatible endpoints (Kestrel, minimal APIs) in front of one
/// <see cref="Whale.Engine.IInferenceEngine"/> per served model. On shutdown it answers new requests with 503, lets
/// running ones finish for <see cref="WhaleServerOptions.DrainTimeout"/>, then cancels them.
/// </summary>
public sealed class WhaleServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ModelRegistry _registry;
    private readonly WhaleServerOptions _options;
    private readonly ConversationStore _store;
    private CancellationTokenSource? _drain;

    private WhaleServer(WebApplication app, ModelRegistry registry, WhaleServerOptions options, ConversationStore store)
    {
        _app = app;
        _registry = registry;
        _options = options;
        _store = store;
    }

    /// <summary>Builds a server for <paramref name="models"/> (not started).</summary>
    public static WhaleServer Create(WhaleServerOptions options, IReadOnlyList<ServedModel> models)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (models is null || models.Count == 0) throw new ArgumentException("at least one model must be served", nameof(models));
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in models)
            foreach (var name in m.Aliases.Prepend(m.Id))
                if (!ids.Add(name)) throw new ArgumentException($"model name '{name}' is used twice", nameof(models));

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        string host = options.Host.Contains(':', StringComparison.Ordinal) ? $"[{options.Host}]" : options.Host;
        builder.WebHost.UseUrls($"http://{host}:{options.Port}");
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes * Endpoints.BodyReader.DrainFactor;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.DrainTimeout + TimeSpan.FromSeconds(5));

        var app = builder.Build();
        var registry = new ModelRegistry(models);
        var metrics = new ServerMetrics();
        var runner = new GenerationRunner(metrics, options);
        app.UseMiddleware<ApiKeyMiddleware>(options.ApiKeys);
        WebUi.Map(app, WebUi.FindRoot(options.WebRoot));
        var store = new ConversationStore(options.DatabasePath);
        new ConversationEndpoints(store, options).Map(app);
        new ApiEndpoints(registry, runner, options, metrics).Map(app);
        var server = new WhaleServer(app, registry, options, store);
        app.Lifetime.ApplicationStopping.Register(server.BeginDrain);
        return server;
    }

    /// <summary>The addresses the server listens on (with the real port when 0 was asked for).</summary>
    public IReadOnlyList<string> Urls => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    /// <summary>Starts listening.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default) => _app.StartAsync(cancellationToken);

    /// <summary>Completes when the host stops (Ctrl+C, SIGTERM, or <see cref="StopAsync"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops gracefully: new requests get 503, running ones finish or are cancelled after the drain timeout.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <summary>Stops the server (the models and engines stay with their owner).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
        await _app.DisposeAsync().ConfigureAwait(false);
        _drain?.Dispose();
        _store.Dispose();
    }

    private void BeginDrain()
    {
        _registry.Draining = true;
        _drain = new CancellationTokenSource(_options.DrainTimeout);
        foreach (var m in _registry.Models) _ = m.Engine.DrainAsync(_drain.Token);
    }
}
