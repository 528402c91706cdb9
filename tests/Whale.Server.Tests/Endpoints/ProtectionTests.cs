using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Whale.Engine;

namespace Whale.Server.Tests.Endpoints;

/// <summary>API keys, queue limits, keep-alive, disconnects, shutdown: each test runs its own server.</summary>
public class ProtectionTests
{
    [Fact]
    public async Task ApiKeysAreRequiredWhenConfigured()
    {
        await using var s = await TestServer.StartAsync(new WhaleServerOptions { ApiKeys = ["k1", "k2"] }, stories: false);
        object body = new { model = "tiny", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 1 };
        var (none, e1) = await s.PostAsync("/v1/chat/completions", body);
        var (wrong, e2) = await s.PostAsync("/v1/chat/completions", body, apiKey: "nope");
        var (right, _) = await s.PostAsync("/v1/chat/completions", body, apiKey: "k2");
        Assert.Equal(401, none);
        Assert.Equal(401, wrong);
        Assert.Equal(200, right);
        BadInputTests.AssertError(e1, null);
        Assert.Equal("authentication_error", e2.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(200, (int)(await s.Http.GetAsync(s.BaseUrl + "/health")).StatusCode);
    }

    [Fact]
    public async Task FullQueueIsA429KeepAlivesFlowWhileQueuedAndDisconnectFreesTheSequence()
    {
        await using var s = await TestServer.StartAsync(new WhaleServerOptions { KeepAliveInterval = TimeSpan.FromMilliseconds(50) },
            new SerialEngineOptions { Parallel = 1, MaxWaiting = 1, ContextSize = 8192 }, stories: false);
        const int longMax = 8000;
        long start = s.TinyEngine.GetStats().GeneratedTokensTotal;
        object Long(int max) => new
        {
            model = "tiny", messages = new[] { new { role = "user", content = "Tell me everything" } }, max_tokens = max, stream = true, logit_bias = s.BanEog(),
        };

        // 1. A long stream runs, on its own client that closes the connection when the response is disposed
        //    (the default handler would first drain up to 1 MB of the stream to reuse the connection).
        using var client1 = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 });
        using var cts1 = new CancellationTokenSource();
        using var req1 = new HttpRequestMessage(HttpMethod.Post, s.BaseUrl + "/v1/chat/completions") { Content = Json(Long(longMax)) };
        using var resp1 = await client1.SendAsync(req1, HttpCompletionOption.ResponseHeadersRead, cts1.Token);
        var reader1 = new StreamReader(await resp1.Content.ReadAsStreamAsync(cts1.Token));
        string? line;
        do line = await reader1.ReadLineAsync(cts1.Token);
        while (line is not null && !line.StartsWith("data: ", StringComparison.Ordinal));
        Assert.NotNull(line);

        // 2. A second one waits and gets keep-alive comments.
        using var req2 = new HttpRequestMessage(HttpMethod.Post, s.BaseUrl + "/v1/chat/completions") { Content = Json(Long(3)) };
        using var resp2 = await s.Http.SendAsync(req2, HttpCompletionOption.ResponseHeadersRead);
        var reader2 = new StreamReader(await resp2.Content.ReadAsStreamAsync());
        Assert.Equal(": keep-alive", await reader2.ReadLineAsync());

        // 3. A third one finds the queue full.
        var (code, error) = await s.PostAsync("/v1/chat/completions", new { model = "tiny", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 1 });
        Assert.Equal(429, code);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("error").GetProperty("code").GetString());

        // 4. The first client disconnects: its sequence is freed at once and the second request runs to the end.
        long before = s.TinyEngine.GetStats().GeneratedTokensTotal;
        await cts1.CancelAsync();
        resp1.Dispose();
        var rest = await reader2.ReadToEndAsync();
        Assert.Contains("data: [DONE]", rest, StringComparison.Ordinal);
        var stats = s.TinyEngine.GetStats();
        Assert.Equal(0, stats.RunningRequests);
        Assert.Equal(0, stats.WaitingRequests);
        // Both streams together stayed well short of the first one's max_tokens: it was cut off, not run out.
        long generated = stats.GeneratedTokensTotal - start;
        Assert.True(generated < longMax, $"the first stream ran out instead of being cut off: {generated} tokens");
        Assert.True(stats.GeneratedTokensTotal - before < 1000, $"generation went on after the disconnect: {stats.GeneratedTokensTotal - before} tokens");
    }

    [Fact]
    public async Task BodyOverTheSizeLimitIsA413AndTheServerKeepsServing()
    {
        await using var s = await TestServer.StartAsync(new WhaleServerOptions { MaxRequestBodyBytes = 16 << 10 }, stories: false);
        string huge = new('x', 40 << 10);
        var (code, body) = await s.PostAsync("/v1/chat/completions", new { model = "tiny", messages = new[] { new { role = "user", content = huge } } });
        Assert.Equal(413, code);
        BadInputTests.AssertError(body, null);
        var (ok, _) = await s.PostAsync("/v1/chat/completions", new { model = "tiny", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 1 });
        Assert.Equal(200, ok);
    }

    [Fact]
    public async Task ShutdownLetsRunningRequestsFinishThenRefusesNewOnes()
    {
        var s = await TestServer.StartAsync(new WhaleServerOptions { DrainTimeout = TimeSpan.FromSeconds(30) }, stories: false);
        try
        {
            var server = typeof(TestServer).GetField("_server", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(s) as WhaleServer;
            var running = s.PostAsync("/v1/chat/completions", new { model = "tiny", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = RunningTokens, logit_bias = s.BanEog() });
            await WaitUntil(() => s.TinyEngine.GetStats().RunningRequests == 1);
            var stop = server!.StopAsync();
            var (code, first) = await running;
            Assert.Equal(200, code);
            Assert.Equal(RunningTokens, first.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            Assert.Equal("length", first.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
            await stop;
            Assert.Throws<EngineUnavailableException>(() => s.TinyEngine.Submit(new EngineRequest([1, 2, 3], new GenerationOptions())));
        }
        finally
        {
            await s.DisposeAsync();
        }
    }

    /// <summary>
    /// Tokens of the request the shutdown test lets run: long enough that polling sees it running (with faster kernels
    /// 30 tokens of the tiny model could start and finish between two 10 ms polls), short enough to finish quickly.
    /// </summary>
    private const int RunningTokens = 300;

    /// <summary>Polls <paramref name="condition"/> without sleeping (a state lasting well under a timer tick is still seen), up to 5 s.</summary>
    private static Task WaitUntil(Func<bool> condition)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var spin = new SpinWait();
        while (!condition() && sw.Elapsed < TimeSpan.FromSeconds(5)) spin.SpinOnce(sleep1Threshold: -1);
        Assert.True(condition());
        return Task.CompletedTask;
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
}
