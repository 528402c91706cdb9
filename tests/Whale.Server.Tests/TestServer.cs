using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Whale.Engine;
using Whale.Server.Hosting;
using Whale.Server.Tests.TestData;

namespace Whale.Server.Tests;

/// <summary>A real Kestrel server on 127.0.0.1 (dynamic port) serving "tiny" (synthetic R1-Distill) and "stories".</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly List<ServedModel> _models = [];
    private WhaleServer? _server;

    public string BaseUrl { get; private set; } = "";
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };
    public WhaleModel Tiny => _models[0].Model;
    public IInferenceEngine TinyEngine => _models[0].Engine;

    public static async Task<TestServer> StartAsync(WhaleServerOptions? options = null, SerialEngineOptions? engine = null, bool stories = true)
    {
        var s = new TestServer();
        engine ??= new SerialEngineOptions { Parallel = 2, ContextSize = 512 };
        var tiny = WhaleModel.Load(TestModels.TinyR1, new ModelOptions { Threads = 1 });
        s._models.Add(new ServedModel("tiny", tiny, Engine(tiny, engine)) { Aliases = ["deepseek-reasoner"] });
        if (stories)
        {
            var st = WhaleModel.Load(TestModels.Stories, new ModelOptions { Threads = 1 });
            s._models.Add(new ServedModel("stories", st, Engine(st, engine with { ContextSize = null })));
        }
        s._server = WhaleServer.Create((options ?? new WhaleServerOptions()) with { Port = 0 }, s._models);
        await s._server.StartAsync();
        s.BaseUrl = s._server.Urls[0];
        return s;
    }

    /// <summary>
    /// The server's default engine (continuous batching) with the given limits: Parallel = sequences batched at once;
    /// 4-token blocks so prefix hits stay within a few tokens of the shared prefix. WHALE_TEST_ENGINE=serial runs the
    /// suite on <see cref="SerialEngine"/> instead.
    /// </summary>
    private static IInferenceEngine Engine(WhaleModel model, SerialEngineOptions o) =>
        Environment.GetEnvironmentVariable("WHALE_TEST_ENGINE") == "serial"
            ? new SerialEngine(model, o)
            : new ContinuousEngine(model, new ContinuousEngineOptions { MaxSequences = o.Parallel, MaxWaiting = o.MaxWaiting, ContextSize = o.ContextSize, BlockSize = 4 });

    /// <summary>POSTs raw bytes; returns the status and the body parsed as JSON (or null).</summary>
    public async Task<(int Status, JsonElement Body)> PostAsync(string path, byte[] body, string? apiKey = null)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, BaseUrl + path) { Content = new ByteArrayContent(body) };
        req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (apiKey is not null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var resp = await Http.SendAsync(req);
        string text = await resp.Content.ReadAsStringAsync();
        return ((int)resp.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    public Task<(int Status, JsonElement Body)> PostAsync(string path, string json, string? apiKey = null) => PostAsync(path, Encoding.UTF8.GetBytes(json), apiKey);

    public Task<(int Status, JsonElement Body)> PostAsync(string path, object body, string? apiKey = null) => PostAsync(path, JsonSerializer.Serialize(body), apiKey);

    /// <summary>POSTs a streamed request and returns the raw SSE lines (data and comments).</summary>
    public async Task<List<string>> StreamLinesAsync(string path, object body)
    {
        using var req = new HttpRequestMessage(HttpMethod.Post, BaseUrl + path) { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") };
        using var resp = await Http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)resp.StatusCode);
        Assert.StartsWith("text/event-stream", resp.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync());
        var lines = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
            if (line.Length > 0) lines.Add(line);
        return lines;
    }

    /// <summary>The JSON payloads of the data events (without [DONE]).</summary>
    public static List<JsonElement> Events(List<string> lines) =>
        lines.Where(l => l.StartsWith("data: ", StringComparison.Ordinal) && l != "data: [DONE]")
             .Select(l => JsonDocument.Parse(l["data: ".Length..]).RootElement.Clone()).ToList();

    /// <summary>logit_bias entries that ban every end-of-generation token (so generation runs to max_tokens).</summary>
    public Dictionary<string, int> BanEog() => Tiny.Tokenizer.EogIds.ToDictionary(id => id.ToString(System.Globalization.CultureInfo.InvariantCulture), _ => -100);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        foreach (var m in _models)
        {
            await m.Engine.DisposeAsync();
            m.Model.Dispose();
        }
        Http.Dispose();
    }
}
