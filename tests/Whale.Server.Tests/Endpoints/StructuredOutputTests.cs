#pragma warning disable OPENAI001 // Seed is experimental in the OpenAI SDK
#pragma warning disable SCME0001 // JsonPatch (extra request fields) is experimental in the OpenAI SDK
using System.ClientModel;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace Whale.Server.Tests.Endpoints;

/// <summary>response_format and tool calling through the OpenAI .NET SDK against the tiny (random-weight) model:
/// the token mask alone must make every output valid.</summary>
public class StructuredOutputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer S => fixture.Server;

    private const string Schema = """
        {"type":"object","properties":{
          "city":{"type":"string","maxLength":10},
          "days":{"type":"integer"},
          "units":{"type":"string","enum":["metric","imperial"]},
          "alerts":{"type":"array","items":{"type":"boolean"},"maxItems":3},
          "extra":{"type":["number","null"]}
        },"required":["city","days","units","alerts","extra"],"additionalProperties":false}
        """;

    private const string WeatherTool = """
        {"type":"function","function":{"name":"get_weather","description":"Weather for a city","strict":true,
         "parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":8},"unit":{"enum":["c","f"]}},"required":["city","unit"],"additionalProperties":false}}}
        """;

    private ChatClient Client() => new("tiny", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(S.BaseUrl + "/v1") });

    private static ChatCompletionOptions Options(int maxTokens, long seed)
    {
        var o = new ChatCompletionOptions { MaxOutputTokenCount = maxTokens, Temperature = 1.0f, Seed = seed };
        o.Patch.Set("$.thinking_budget"u8, 0);
        return o;
    }

    private static void CheckWeather(JsonElement root)
    {
        Assert.True(root.GetProperty("city").GetString()!.Length <= 10);
        Assert.True(root.GetProperty("days").TryGetInt64(out _));
        Assert.Contains(root.GetProperty("units").GetString(), new[] { "metric", "imperial" });
        Assert.True(root.GetProperty("alerts").GetArrayLength() <= 3);
        Assert.True(root.GetProperty("extra").ValueKind is JsonValueKind.Number or JsonValueKind.Null);
        Assert.Equal(5, root.EnumerateObject().Count());
    }

    [Fact]
    public async Task JsonSchemaOutputIsValidForEverySeed()
    {
        for (int seed = 0; seed < 12; seed++)
        {
            var o = Options(400, seed);
            o.ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("weather", BinaryData.FromString(Schema), jsonSchemaIsStrict: true);
            var completion = (await Client().CompleteChatAsync([new UserChatMessage("Weather as JSON please")], o)).Value;
            Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
            using var doc = JsonDocument.Parse(completion.Content[0].Text);
            CheckWeather(doc.RootElement);
        }
    }

    [Fact]
    public async Task ReasoningIsFreeAndTheConstraintStartsAfterThink()
    {
        var o = Options(400, 5);
        o.Patch.Set("$.thinking_budget"u8, 6);
        o.ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("weather", BinaryData.FromString(Schema), jsonSchemaIsStrict: true);
        var result = await Client().CompleteChatAsync([new UserChatMessage("Think, then JSON")], o);
        using var raw = JsonDocument.Parse(result.GetRawResponse().Content);
        var message = raw.RootElement.GetProperty("choices")[0].GetProperty("message");
        string reasoning = message.GetProperty("reasoning_content").GetString()!;
        Assert.False(string.IsNullOrEmpty(reasoning));
        Assert.True(raw.RootElement.GetProperty("usage").GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32() >= 6);
        using var doc = JsonDocument.Parse(message.GetProperty("content").GetString()!);
        CheckWeather(doc.RootElement);
    }

    [Fact]
    public async Task JsonObjectStreamedIsValidAndTruncationIsLength()
    {
        var o = Options(400, 3);
        o.ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("weather", BinaryData.FromString(Schema));
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var u in Client().CompleteChatStreamingAsync([new UserChatMessage("JSON")], o))
        {
            foreach (var part in u.ContentUpdate) text.Append(part.Text);
            finish ??= u.FinishReason;
        }
        Assert.Equal(ChatFinishReason.Stop, finish);
        using (var doc = JsonDocument.Parse(text.ToString())) CheckWeather(doc.RootElement);

        var shortO = Options(4, 3);
        shortO.ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat();
        var truncated = (await Client().CompleteChatAsync([new UserChatMessage("JSON")], shortO)).Value;
        Assert.Equal(ChatFinishReason.Length, truncated.FinishReason);
    }

    [Fact]
    public async Task RequiredToolChoiceGivesAValidCallWithRandomWeights()
    {
        var tool = ChatTool.CreateFunctionTool("get_weather", "Weather for a city",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string","maxLength":8},"unit":{"enum":["c","f"]}},"required":["city","unit"],"additionalProperties":false}"""),
            functionSchemaIsStrict: true);
        var other = ChatTool.CreateFunctionTool("get_time", "Time", BinaryData.FromString("""{"type":"object","properties":{},"additionalProperties":false}"""));
        for (int seed = 0; seed < 4; seed++)
        {
            var o = Options(300, seed);
            o.Tools.Add(tool);
            o.Tools.Add(other);
            o.ToolChoice = seed % 2 == 0 ? ChatToolChoice.CreateRequiredChoice() : ChatToolChoice.CreateFunctionChoice("get_weather");
            o.AllowParallelToolCalls = false;
            var completion = (await Client().CompleteChatAsync([new UserChatMessage("Weather in Paris?")], o)).Value;
            Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
            var call = Assert.Single(completion.ToolCalls);
            Assert.StartsWith("call_", call.Id, StringComparison.Ordinal);
            Assert.Contains(call.FunctionName, new[] { "get_weather", "get_time" });
            using var args = JsonDocument.Parse(call.FunctionArguments);
            if (call.FunctionName == "get_weather")
            {
                Assert.True(args.RootElement.GetProperty("city").GetString()!.Length <= 8);
                Assert.Contains(args.RootElement.GetProperty("unit").GetString(), new[] { "c", "f" });
            }
            else Assert.Empty(args.RootElement.EnumerateObject());
        }
    }

    [Fact]
    public async Task ToolCallRoundTripStreamedThenToolResult()
    {
        var tool = ChatTool.CreateFunctionTool("get_weather", "Weather",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string","maxLength":6}},"required":["city"],"additionalProperties":false}"""));
        var o = Options(300, 11);
        o.Tools.Add(tool);
        o.ToolChoice = ChatToolChoice.CreateFunctionChoice("get_weather");
        string? id = null, name = null;
        var args = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var u in Client().CompleteChatStreamingAsync([new UserChatMessage("Weather?")], o))
        {
            foreach (var tc in u.ToolCallUpdates)
            {
                Assert.Equal(0, tc.Index);
                id ??= tc.ToolCallId;
                name ??= tc.FunctionName;
                args.Append(tc.FunctionArgumentsUpdate?.ToString());
            }
            finish ??= u.FinishReason;
        }
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal("get_weather", name);
        Assert.NotNull(id);
        using (var doc = JsonDocument.Parse(args.ToString())) Assert.True(doc.RootElement.GetProperty("city").GetString()!.Length <= 6);

        // Feed the call and its result back; the model answers in text (tool_choice none).
        var history = new List<ChatMessage>
        {
            new UserChatMessage("Weather?"),
            new AssistantChatMessage([ChatToolCall.CreateFunctionToolCall(id, name, BinaryData.FromString(args.ToString()))]),
            new ToolChatMessage(id, """{"temp":21}"""),
        };
        var next = Options(8, 1);
        next.Tools.Add(tool);
        next.ToolChoice = ChatToolChoice.CreateNoneChoice();
        var answer = (await Client().CompleteChatAsync(history, next)).Value;
        Assert.Empty(answer.ToolCalls);
        Assert.True(answer.Usage.InputTokenCount > 20);
    }

    [Theory]
    [InlineData("""{"tools":"x"}""", 400)]
    [InlineData("""{"tools":[{"type":"retrieval"}]}""", 400)]
    [InlineData("""{"tools":[{"type":"function","function":{}}]}""", 400)]
    [InlineData("""{"tools":[{"type":"function","function":{"name":"bad name!"}}]}""", 422)]
    [InlineData("""{"tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]}""", 400)]
    [InlineData("""{"tools":[{"type":"function","function":{"name":"f","strict":true,"parameters":{"type":"object","properties":{"a":{"type":"string","pattern":"x"}}}}}]}""", 422)]
    [InlineData("""{"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]}""", 422)]
    [InlineData("""{"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}""", 422)]
    [InlineData("""{"tool_choice":"required"}""", 422)]
    [InlineData("""{"tool_choice":"sometimes"}""", 422)]
    [InlineData("""{"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"$ref":"#/b"}}}}}}""", 422)]
    [InlineData("""{"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"nope"}}}}""", 422)]
    [InlineData("""{"response_format":{"type":"json_schema"}}""", 400)]
    [InlineData("""{"response_format":{"type":"yaml"}}""", 422)]
    public async Task MalformedToolsAndFormatsAreRejected(string extra, int status)
    {
        var body = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(extra)!;
        body["model"] = JsonSerializer.SerializeToElement("tiny");
        body["messages"] = JsonSerializer.SerializeToElement(new[] { new { role = "user", content = "hi" } });
        body["max_tokens"] = JsonSerializer.SerializeToElement(2);
        var (code, json) = await S.PostAsync("/v1/chat/completions", body);
        Assert.Equal(status, code);
        Assert.False(string.IsNullOrEmpty(json.GetProperty("error").GetProperty("message").GetString()));
    }
}
