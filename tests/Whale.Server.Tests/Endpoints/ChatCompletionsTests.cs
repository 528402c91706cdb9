#pragma warning disable SCME0001 // JsonPatch (extra request fields) is experimental in the OpenAI SDK
using System.ClientModel;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;
using MeaiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using MeaiChatRole = Microsoft.Extensions.AI.ChatRole;

namespace Whale.Server.Tests.Endpoints;

public class ChatCompletionsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer S => fixture.Server;

    private ChatClient Client(string model = "tiny") =>
        new(model, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(S.BaseUrl + "/v1") });

    private ChatCompletionOptions Options(int maxTokens, int? thinkingBudget = null)
    {
        var o = new ChatCompletionOptions { MaxOutputTokenCount = maxTokens, Temperature = 0 };
        foreach (var (id, _) in S.BanEog()) o.LogitBiases[int.Parse(id, System.Globalization.CultureInfo.InvariantCulture)] = -100;
        if (thinkingBudget is { } b) o.Patch.Set("$.thinking_budget"u8, b);
        return o;
    }

    [Fact]
    public async Task OpenAiSdkChatReturnsReasoningSeparatelyAndUsage()
    {
        var result = await Client().CompleteChatAsync([new UserChatMessage("What is 2+2?")], Options(10, thinkingBudget: 3));
        var completion = result.Value;
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(10, completion.Usage.OutputTokenCount);
        // 3 reasoning tokens, then the forced "\n</think>\n\n" (its tokens count as reasoning up to </think>).
        Assert.InRange(completion.Usage.OutputTokenDetails.ReasoningTokenCount, 4, 6);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        string content = completion.Content[0].Text;
        Assert.DoesNotContain("think>", content, StringComparison.Ordinal);
        Assert.NotEmpty(content);

        using var raw = JsonDocument.Parse(result.GetRawResponse().Content);
        var message = raw.RootElement.GetProperty("choices")[0].GetProperty("message");
        Assert.False(string.IsNullOrEmpty(message.GetProperty("reasoning_content").GetString()));
        Assert.Equal(content, message.GetProperty("content").GetString());
        var usage = raw.RootElement.GetProperty("usage");
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32(),
            usage.GetProperty("prompt_cache_hit_tokens").GetInt32() + usage.GetProperty("prompt_cache_miss_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_cache_hit_tokens").GetInt32(), usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
    }

    [Fact]
    public async Task OpenAiSdkStreamingGivesContentChunksFinishReasonAndUsage()
    {
        var text = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in Client().CompleteChatStreamingAsync([new UserChatMessage("Tell me a story")], Options(12, thinkingBudget: 2)))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            if (update.FinishReason is { } f) finish = f;
            usage ??= update.Usage;
        }
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.NotNull(usage);
        Assert.Equal(12, usage.OutputTokenCount);
        Assert.True(usage.OutputTokenDetails.ReasoningTokenCount is > 0 and < 12);
        Assert.NotEmpty(text.ToString());
        Assert.DoesNotContain("think>", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RawStreamSplitsReasoningAndContentDeltasLikeDeepSeek()
    {
        var lines = await S.StreamLinesAsync("/chat/completions", new
        {
            model = "deepseek-reasoner", // alias of tiny
            messages = new[] { new { role = "user", content = "Hi" } },
            max_tokens = 10, temperature = 0, thinking_budget = 3, logit_bias = S.BanEog(), stream = true,
        });
        Assert.Equal("data: [DONE]", lines[^1]);
        var events = TestServer.Events(lines);
        var first = events[0].GetProperty("choices")[0].GetProperty("delta");
        Assert.Equal("assistant", first.GetProperty("role").GetString());
        string reasoning = "", content = "";
        bool sawReasoningWithNullContent = false;
        foreach (var e in events)
        {
            var choices = e.GetProperty("choices");
            if (choices.GetArrayLength() == 0) continue;
            var delta = choices[0].GetProperty("delta");
            if (delta.TryGetProperty("reasoning_content", out var r) && r.ValueKind == JsonValueKind.String)
            {
                reasoning += r.GetString();
                if (r.GetString()!.Length > 0 && delta.GetProperty("content").ValueKind == JsonValueKind.Null) sawReasoningWithNullContent = true;
            }
            if (delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String) content += c.GetString();
        }
        Assert.True(sawReasoningWithNullContent);
        Assert.NotEmpty(reasoning);
        Assert.NotEmpty(content);
        Assert.DoesNotContain("think>", reasoning + content, StringComparison.Ordinal);
        // DeepSeek puts usage on the last chunk even without include_usage.
        var last = events[^1];
        Assert.Equal("length", last.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(10, last.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task ReasoningThatNeverClosesStaysReasoning()
    {
        var (status, body) = await S.PostAsync("/v1/chat/completions", new
        {
            model = "tiny", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 6, temperature = 0, logit_bias = S.BanEog(),
        });
        Assert.Equal(200, status);
        var message = body.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("", message.GetProperty("content").GetString());
        Assert.NotEmpty(message.GetProperty("reasoning_content").GetString()!);
        Assert.Equal(6, body.GetProperty("usage").GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32());
    }

    [Fact]
    public async Task MeaiChatClientSeesReasoningAndUsageInBothModes()
    {
        IChatClient client = Client().AsIChatClient();
        var options = new ChatOptions { MaxOutputTokens = 10, Temperature = 0, RawRepresentationFactory = _ => Options(10, thinkingBudget: 3) };
        var response = await client.GetResponseAsync([new MeaiChatMessage(MeaiChatRole.User, "Why is the sky blue?")], options);
        var contents = response.Messages.SelectMany(m => m.Contents).ToList();
        Assert.Contains(contents, c => c is TextReasoningContent r && r.Text.Length > 0);
        Assert.False(string.IsNullOrEmpty(response.Text));
        Assert.Equal(10, response.Usage?.OutputTokenCount);
        Assert.True(response.Usage?.ReasoningTokenCount > 0);

        var reasoning = new System.Text.StringBuilder();
        var text = new System.Text.StringBuilder();
        UsageDetails? usage = null;
        await foreach (var update in client.GetStreamingResponseAsync([new MeaiChatMessage(MeaiChatRole.User, "Why is the sky blue?")], options))
        {
            foreach (var c in update.Contents)
            {
                if (c is TextReasoningContent r) reasoning.Append(r.Text);
                else if (c is Microsoft.Extensions.AI.TextContent t) text.Append(t.Text);
                else if (c is UsageContent u) usage = u.Details;
            }
        }
        Assert.Equal(response.Text, text.ToString());
        Assert.NotEmpty(reasoning.ToString());
        Assert.Equal(10, usage?.OutputTokenCount);
    }

    [Fact]
    public async Task SecondRequestSharingALongPrefixHitsTheCacheAndPrefillsLess()
    {
        string system = string.Join(' ', Enumerable.Range(0, 120).Select(i => $"rule{i}"));
        object Body(string question, string? user = null) => new
        {
            model = "tiny", user,
            messages = new object[] { new { role = "system", content = system }, new { role = "user", content = question } },
            max_tokens = 2, temperature = 0,
        };
        var (s1, first) = await S.PostAsync("/v1/chat/completions", Body("First question?", "alice"));
        Assert.Equal(200, s1);
        long prefillBefore = S.TinyEngine.GetStats().PrefillTokensTotal;
        var (s2, second) = await S.PostAsync("/v1/chat/completions", Body("Second question?", "alice"));
        Assert.Equal(200, s2);
        long prefill = S.TinyEngine.GetStats().PrefillTokensTotal - prefillBefore;

        var u = second.GetProperty("usage");
        int prompt = u.GetProperty("prompt_tokens").GetInt32(), hit = u.GetProperty("prompt_cache_hit_tokens").GetInt32();
        Assert.True(prompt > 200, $"prompt {prompt}");
        Assert.True(hit > prompt - 15, $"hit {hit} of {prompt}");
        Assert.Equal(prompt - hit, u.GetProperty("prompt_cache_miss_tokens").GetInt32());
        Assert.Equal(prompt - hit, prefill);    // only the new tail was computed
        Assert.Equal(0, first.GetProperty("usage").GetProperty("prompt_cache_hit_tokens").GetInt32());

        // Another user's cache is not shared.
        var (_, other) = await S.PostAsync("/v1/chat/completions", Body("Second question?", "bob"));
        Assert.Equal(0, other.GetProperty("usage").GetProperty("prompt_cache_hit_tokens").GetInt32());
    }

    [Fact]
    public async Task PrefixCompletionContinuesTheAssistantMessage()
    {
        var (status, body) = await S.PostAsync("/beta/chat/completions", new
        {
            model = "tiny",
            messages = new object[]
            {
                new { role = "user", content = "Write code" },
                new { role = "assistant", content = "```python\n", prefix = true },
            },
            max_tokens = 4, temperature = 0, logit_bias = S.BanEog(),
        });
        Assert.Equal(200, status);
        var message = body.GetProperty("choices")[0].GetProperty("message");
        Assert.NotEmpty(message.GetProperty("content").GetString()!);
        Assert.Equal(0, body.GetProperty("usage").GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32());
    }

    [Fact]
    public async Task ChoicesLogprobsAndStopWork()
    {
        var (status, body) = await S.PostAsync("/v1/chat/completions", new
        {
            model = "tiny", messages = new[] { new { role = "user", content = "Hi" } },
            max_tokens = 5, temperature = 0.8, seed = 1, n = 2, logprobs = true, top_logprobs = 3, logit_bias = S.BanEog(),
            thinking = new { type = "disabled" }, stop = new[] { "zzzz-never" },
        });
        Assert.Equal(200, status);
        var choices = body.GetProperty("choices");
        Assert.Equal(2, choices.GetArrayLength());
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(i, choices[i].GetProperty("index").GetInt32());
            var lp = choices[i].GetProperty("logprobs");
            var all = lp.GetProperty("content").EnumerateArray().ToList();
            if (lp.TryGetProperty("reasoning_content", out var r)) all.AddRange(r.EnumerateArray());
            Assert.Equal(5, all.Count);
            foreach (var t in all)
            {
                Assert.True(t.GetProperty("logprob").GetSingle() <= 0);
                Assert.Equal(3, t.GetProperty("top_logprobs").GetArrayLength());
            }
        }
        Assert.Equal(10, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task ChatOnAModelWithoutTemplateIsAClearError()
    {
        var (status, body) = await S.PostAsync("/v1/chat/completions", new { model = "stories", messages = new[] { new { role = "user", content = "Hi" } } });
        Assert.Equal(400, status);
        Assert.Contains("chat template", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
