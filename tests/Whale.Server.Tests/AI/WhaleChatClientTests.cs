#pragma warning disable SCME0001 // JsonPatch (extra request fields) is experimental in the OpenAI SDK
using System.ClientModel;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using Whale.AI;
using Whale.Engine;
using Whale.Server.Tests.TestData;

namespace Whale.Server.Tests.AI;

/// <summary>IChatClient: Whale's in-process client, and the OpenAI SDK's client against the server.</summary>
public class WhaleChatClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer S => fixture.Server;

    private WhaleChatClient InProcess() => new(S.Tiny, S.TinyEngine, "tiny");

    private static ChatOptions Options(int maxTokens, int? thinkingBudget = 0, long seed = 1) => new()
    {
        MaxOutputTokens = maxTokens,
        Temperature = 1.0f,
        Seed = seed,
        AdditionalProperties = thinkingBudget is { } b ? new() { ["thinking_budget"] = b } : null,
    };

    [Fact]
    public async Task StreamingGivesReasoningTextAndUsage()
    {
        var client = InProcess();
        var reasoning = new StringBuilder();
        var text = new StringBuilder();
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Hi there")], Options(12, thinkingBudget: 3)))
        {
            updates.Add(u);
            foreach (var r in u.Contents.OfType<TextReasoningContent>()) reasoning.Append(r.Text);
            text.Append(u.Text);
        }
        Assert.NotEqual(0, reasoning.Length);
        Assert.NotEqual(0, text.Length);
        var response = updates.ToChatResponse();
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.NotNull(response.Usage);
        Assert.Equal(12, response.Usage!.OutputTokenCount);
        Assert.True(response.Usage.InputTokenCount > 0);
        Assert.NotNull(response.Usage.CachedInputTokenCount);
        Assert.True(response.Usage.AdditionalCounts!.ContainsKey("CachedInputTokens"));
        Assert.Equal("tiny", response.ModelId);
    }

    [Fact]
    public async Task JsonSchemaResponseFormatIsEnforced()
    {
        using var schema = JsonDocument.Parse("""{"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":"integer"}},"required":["ok","n"],"additionalProperties":false}""");
        for (int seed = 0; seed < 3; seed++)
        {
            var o = Options(200, seed: seed);
            o.ResponseFormat = ChatResponseFormat.ForJsonSchema(schema.RootElement.Clone(), "result");
            var response = await InProcess().GetResponseAsync([new ChatMessage(ChatRole.User, "JSON")], o);
            using var doc = JsonDocument.Parse(response.Text);
            Assert.True(doc.RootElement.GetProperty("ok").ValueKind is JsonValueKind.True or JsonValueKind.False);
            Assert.True(doc.RootElement.GetProperty("n").TryGetInt64(out _));
        }
        var any = Options(200, seed: 5);
        any.ResponseFormat = ChatResponseFormat.Json;
        var r = await InProcess().GetResponseAsync([new ChatMessage(ChatRole.User, "JSON")], any);
        if (r.FinishReason == ChatFinishReason.Stop) JsonDocument.Parse(r.Text).Dispose();
    }

    public sealed record Forecast(bool Rain, long Day, double[] Temperatures); // no strings: random weights would fill them to max tokens

    [Fact]
    public async Task TypedStructuredOutputParsesEveryTime()
    {
        for (int seed = 0; seed < 3; seed++)
        {
            var response = await InProcess().GetResponseAsync<Forecast>("Forecast?", Options(300, seed: seed));
            Assert.True(response.TryGetResult(out var forecast), response.Text);
            Assert.NotNull(forecast!.Temperatures);
        }
    }

    private static (AIFunction Function, Func<List<string>> Calls) WeatherFunction()
    {
        // An integer argument: random weights end it within 15 digits (an unbounded string could run to max tokens).
        var calls = new List<string>();
        var f = AIFunctionFactory.Create((long day) =>
        {
            lock (calls) calls.Add(day.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return "sunny";
        }, "get_weather", "The weather on a day");
        return (f, () => calls);
    }

    [Fact]
    public async Task UseFunctionInvocationInvokesTheFunctionInProcess()
    {
        var (function, calls) = WeatherFunction();
        using var client = new ChatClientBuilder(InProcess()).UseFunctionInvocation().Build();
        var o = Options(400);
        o.Tools = [function];
        o.ToolMode = ChatToolMode.RequireSpecific("get_weather");
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Weather in Paris?")], o);
        Assert.NotEmpty(calls());
        Assert.Contains(response.Messages, m => m.Contents.OfType<FunctionResultContent>().Any(r => r.Result?.ToString() == "sunny"));
        Assert.Contains(response.Messages, m => m.Contents.OfType<FunctionCallContent>().Any(c => c.Name == "get_weather"));
    }

    [Fact]
    public async Task UseFunctionInvocationAgainstTheServer()
    {
        var (function, calls) = WeatherFunction();
        var openai = new OpenAI.Chat.ChatClient("tiny", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(S.BaseUrl + "/v1") });
        using var client = new ChatClientBuilder(openai.AsIChatClient()).UseFunctionInvocation().Build();
        var o = new ChatOptions
        {
            MaxOutputTokens = 400, Temperature = 1.0f, Seed = 2, Tools = [function], ToolMode = ChatToolMode.RequireAny,
            RawRepresentationFactory = _ =>
            {
                var raw = new OpenAI.Chat.ChatCompletionOptions();
                raw.Patch.Set("$.thinking_budget"u8, 0);
                return raw;
            },
        };
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Weather in Paris?")], o);
        Assert.True(calls().Count > 0, string.Join(" | ", response.Messages.SelectMany(m => m.Contents).Select(c => c.GetType().Name + ":" + (c as TextContent)?.Text + (c as FunctionCallContent)?.Name + JsonSerializer.Serialize((c as FunctionCallContent)?.Arguments) + (c as FunctionResultContent)?.Result + (c as FunctionResultContent)?.Exception?.Message)) + " finish " + response.FinishReason);
        Assert.Contains(response.Messages, m => m.Contents.OfType<FunctionResultContent>().Any());
    }

    [Fact]
    public async Task AddWhaleRegistersAChatClient()
    {
        var services = new ServiceCollection();
        services.AddWhale(TestModels.TinyR1, new ModelOptions { Threads = 1 }, new SerialEngineOptions { ContextSize = 256 }, "tiny-di");
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IChatClient>();
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")], Options(4));
        Assert.Equal("tiny-di", response.ModelId);
        Assert.Equal("whale", client.GetService<ChatClientMetadata>()!.ProviderName);
        Assert.NotNull(provider.GetRequiredService<Whale.Engine.IInferenceEngine>());
    }
}
