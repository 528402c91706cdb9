using System.Text;
using System.Text.Json;

namespace Whale.Server.Tests.Endpoints;

public class BadInputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer S => fixture.Server;

    public static TheoryData<string, int, string?> Cases => new()
    {
        { "{\"model\":\"tiny\",\"messages\":[", 400, null },                                                     // malformed JSON
        { "not json at all", 400, null },
        { "", 400, null },
        { "[]", 400, null },
        { "{\"model\":\"tiny\",\"messages\":\"hello\"}", 400, "messages" },                                    // wrong type
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":\"hot\"}", 400, "temperature" },
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":42}]}", 400, "messages[0].content" },
        { "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, "model" },          // unknown model
        { "{\"model\":\"tiny\",\"messages\":[]}", 400, "messages" },                                            // empty messages
        { "{\"model\":\"tiny\"}", 400, "messages" },
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}", 422, "messages[0].role" },
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":-5}", 422, "max_tokens" },
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":100000000}", 422, "max_tokens" },
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_completion_tokens\":0}", 422, "max_tokens" },
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":1000}", 422, "n" },
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":0}", 422, "n" },
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":7}", 422, "temperature" },
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"top_p\":-1}", 422, "top_p" },
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"top_logprobs\":50,\"logprobs\":true}", 422, "top_logprobs" },
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"logit_bias\":{\"999999\":5}}", 422, "logit_bias" },
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stop\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]}", 422, "stop" },
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"prefix\":true}]}", 422, "messages[0].prefix" },
        { "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tool_choice\":\"required\"}", 422, "tool_choice" },
        { "{\"model\":\"tiny\",\"prompt\":[\"a\",\"b\"]}", 422, "prompt" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadRequestsGetTheRightStatusAndAnOpenAiShapedError(string json, int status, string? param)
    {
        string path = json.Contains("\"prompt\"", StringComparison.Ordinal) ? "/v1/completions" : "/v1/chat/completions";
        var (code, body) = await S.PostAsync(path, json);
        Assert.Equal(status, code);
        AssertError(body, param);
        await AssertStillServing();
    }

    [Fact]
    public async Task InvalidUtf8IsA400()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"ab\"}]}");
        int at = Array.IndexOf(bytes, (byte)'a');
        bytes[at] = 0xff;
        bytes[at + 1] = 0xfe;
        var (code, body) = await S.PostAsync("/v1/chat/completions", bytes);
        Assert.Equal(400, code);
        AssertError(body, null);
        await AssertStillServing();
    }

    [Fact]
    public async Task PromptLongerThanTheContextIsA400()
    {
        string huge = string.Join(' ', Enumerable.Repeat("word", 3000));
        var (code, body) = await S.PostAsync("/v1/chat/completions", new { model = "tiny", messages = new[] { new { role = "user", content = huge } } });
        Assert.Equal(400, code);
        Assert.Equal("context_length_exceeded", body.GetProperty("error").GetProperty("code").GetString());
        await AssertStillServing();
    }

    [Fact]
    public async Task UnknownRouteIsAnOpenAiShaped404()
    {
        var resp = await S.Http.GetAsync(S.BaseUrl + "/v1/nothing-here");
        Assert.Equal(404, (int)resp.StatusCode);
        AssertError(JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement, null);
    }

    internal static void AssertError(JsonElement body, string? param)
    {
        var error = body.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.Equal(JsonValueKind.String, error.GetProperty("code").ValueKind);
        Assert.True(error.TryGetProperty("param", out var p));
        if (param is not null) Assert.Equal(param, p.GetString());
    }

    private async Task AssertStillServing()
    {
        var (code, _) = await S.PostAsync("/v1/completions", new { model = "stories", prompt = "Hi", max_tokens = 1 });
        Assert.Equal(200, code);
    }
}
