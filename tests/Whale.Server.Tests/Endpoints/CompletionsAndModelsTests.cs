using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using OpenAI;
using OpenAI.Models;

namespace Whale.Server.Tests.Endpoints;

public class CompletionsAndModelsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer S => fixture.Server;
    private OpenAIClientOptions ClientOptions => new() { Endpoint = new Uri(S.BaseUrl + "/v1") };

    [Fact]
    public async Task OpenAiSdkListsModels()
    {
        var client = new OpenAIModelClient(new ApiKeyCredential("unused"), ClientOptions);
        var models = (await client.GetModelsAsync()).Value;
        Assert.Equal(["tiny", "stories"], models.Select(m => m.Id).ToArray());
        Assert.Equal("whale", models[0].OwnedBy);
        var one = (await client.GetModelAsync("stories")).Value;
        Assert.Equal("stories", one.Id);
    }

    [Fact]
    public async Task OpenAiSdkCompletionContinuesStories260K()
    {
        // The SDK's legacy completion client is internal in 2.15; its pipeline (auth, retries, errors) sends the request.
        var pipeline = new OpenAIClient(new ApiKeyCredential("unused"), ClientOptions).Pipeline;
        using var message = pipeline.CreateMessage();
        message.Request.Method = "POST";
        message.Request.Uri = new Uri(S.BaseUrl + "/v1/completions");
        message.Request.Headers.Set("Content-Type", "application/json");
        message.Request.Content = BinaryContent.Create(BinaryData.FromObjectAsJson(new { model = "stories", prompt = "Once upon a time", max_tokens = 12, temperature = 0 }));
        await pipeline.SendAsync(message);
        Assert.Equal(200, message.Response!.Status);
        using var doc = JsonDocument.Parse(message.Response.Content);
        var root = doc.RootElement;
        Assert.Equal("text_completion", root.GetProperty("object").GetString());
        Assert.StartsWith(", there was", root.GetProperty("choices")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal(12, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task StreamedCompletionWithEchoAndLogprobs()
    {
        var lines = await S.StreamLinesAsync("/v1/completions", new
        {
            model = "stories", prompt = "Once upon a time", max_tokens = 6, temperature = 0, echo = true, logprobs = 2,
            stream = true, stream_options = new { include_usage = true },
        });
        var events = TestServer.Events(lines);
        string text = string.Concat(events.Where(e => e.GetProperty("choices").GetArrayLength() > 0).Select(e => e.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.StartsWith("Once upon a time, there was", text, StringComparison.Ordinal);
        var usage = events[^1].GetProperty("usage");
        Assert.Equal(0, events[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(6, usage.GetProperty("completion_tokens").GetInt32());
        int logprobs = events.Where(e => e.GetProperty("choices").GetArrayLength() > 0 && e.GetProperty("choices")[0].GetProperty("logprobs").ValueKind == JsonValueKind.Object)
            .Sum(e => e.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("tokens").GetArrayLength());
        Assert.Equal(6, logprobs);
    }

    [Fact]
    public async Task FimWorksWhereTheVocabularyHasFimTokensOnly()
    {
        var (ok, body) = await S.PostAsync("/beta/completions", new { model = "tiny", prompt = "def f(x):\n", suffix = "\n    return y\n", max_tokens = 4, temperature = 0 });
        Assert.Equal(200, ok);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        var (bad, error) = await S.PostAsync("/beta/completions", new { model = "stories", prompt = "Once", suffix = "end", max_tokens = 4 });
        Assert.Equal(422, bad);
        Assert.Equal("suffix", error.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task HealthAndMetricsExposeEngineState()
    {
        var health = await S.Http.GetStringAsync(S.BaseUrl + "/health");
        Assert.Contains("\"ok\"", health, StringComparison.Ordinal);
        await S.PostAsync("/v1/completions", new { model = "stories", prompt = "Hello", max_tokens = 3 });
        var metrics = await S.Http.GetStringAsync(S.BaseUrl + "/metrics");
        foreach (var name in new[]
        {
            "whale:time_to_first_token_seconds_bucket", "whale:inter_token_latency_seconds_count", "whale:e2e_request_latency_seconds_sum",
            "whale:request_queue_time_seconds_count", "whale:num_requests_running{", "whale:num_requests_waiting{", "whale:kv_cache_usage_perc{",
            "whale:prefix_cache_queries_total{", "whale:prefix_cache_hits_total{", "whale:generation_tokens_total{", "whale:generation_tokens_per_second{",
        })
            Assert.Contains(name, metrics, StringComparison.Ordinal);
    }
}
