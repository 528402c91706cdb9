using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Whale.Server.Tests.Conversations;

/// <summary>/api/conversations: create, list, search, rename, messages, truncate, delete, key isolation, bad input.</summary>
[Collection(SerialCollection.Name)]
public class ConversationApiTests
{
    [Fact]
    public async Task CreateListGetRenameAddMessagesTruncateAndDelete()
    {
        await using var s = await TestServer.StartAsync(stories: false);
        var (code, created) = await Send(s, HttpMethod.Post, "/api/conversations", new { title = "Primes  and\nsquares", model = "tiny", settings = new { temperature = 0.6, system_prompt = "Be brief" } });
        Assert.Equal(201, code);
        string id = created.GetProperty("id").GetString()!;
        Assert.Equal("Primes and squares", created.GetProperty("title").GetString());
        Assert.Equal(0.6, created.GetProperty("settings").GetProperty("temperature").GetDouble());
        Assert.Equal(0, created.GetProperty("messages").GetArrayLength());

        var (_, other) = await Send(s, HttpMethod.Post, "/api/conversations", new { title = "Weather" });
        await Task.Delay(5);
        var (c1, user) = await Send(s, HttpMethod.Post, $"/api/conversations/{id}/messages", new { role = "user", content = "Is 7 prime?" });
        var (c2, answer) = await Send(s, HttpMethod.Post, $"/api/conversations/{id}/messages",
            new { role = "assistant", content = "Yes.", reasoning = "7 has no divisors", meta = new { completion_tokens = 12, tokens_per_second = 30.5 } });
        Assert.Equal(201, c1);
        Assert.Equal(201, c2);
        Assert.True(answer.GetProperty("id").GetInt64() > user.GetProperty("id").GetInt64());

        var (_, list) = await Send(s, HttpMethod.Get, "/api/conversations");
        var data = list.GetProperty("data");
        Assert.Equal(2, data.GetArrayLength());
        Assert.Equal(id, data[0].GetProperty("id").GetString()); // most recently updated first (the messages touched it)
        Assert.Equal(2, data[0].GetProperty("message_count").GetInt32());

        var (_, found) = await Send(s, HttpMethod.Get, "/api/conversations?q=PRIME");
        Assert.Equal(id, Assert.Single(found.GetProperty("data").EnumerateArray()).GetProperty("id").GetString());

        var (rc, renamed) = await Send(s, HttpMethod.Patch, $"/api/conversations/{id}", new { title = "Seven" });
        Assert.Equal(200, rc);
        Assert.Equal("Seven", renamed.GetProperty("title").GetString());
        Assert.Equal(0.6, renamed.GetProperty("settings").GetProperty("temperature").GetDouble()); // untouched

        var (_, full) = await Send(s, HttpMethod.Get, $"/api/conversations/{id}");
        var messages = full.GetProperty("messages");
        Assert.Equal(2, messages.GetArrayLength());
        Assert.Equal("7 has no divisors", messages[1].GetProperty("reasoning").GetString());
        Assert.Equal(12, messages[1].GetProperty("meta").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(JsonValueKind.Null, messages[0].GetProperty("reasoning").ValueKind);

        // Regenerate: drop the answer; edit: drop from the user message on.
        var (tc, truncated) = await Send(s, HttpMethod.Delete, $"/api/conversations/{id}/messages?from={answer.GetProperty("id").GetInt64()}");
        Assert.Equal(200, tc);
        Assert.Equal(1, truncated.GetProperty("deleted").GetInt32());
        var (_, after) = await Send(s, HttpMethod.Get, $"/api/conversations/{id}");
        Assert.Equal("Is 7 prime?", Assert.Single(after.GetProperty("messages").EnumerateArray()).GetProperty("content").GetString());

        var (dc, _) = await Send(s, HttpMethod.Delete, $"/api/conversations/{id}");
        Assert.Equal(204, dc);
        var (gone, error) = await Send(s, HttpMethod.Get, $"/api/conversations/{id}");
        Assert.Equal(404, gone);
        Assert.Equal("conversation_not_found", error.GetProperty("error").GetProperty("code").GetString());
        var (_, rest) = await Send(s, HttpMethod.Get, "/api/conversations");
        Assert.Equal(other.GetProperty("id").GetString(), Assert.Single(rest.GetProperty("data").EnumerateArray()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task ConversationsBelongToTheKeyThatMadeThem()
    {
        await using var s = await TestServer.StartAsync(new WhaleServerOptions { ApiKeys = ["alice-key", "bob-key"] }, stories: false);
        var (none, _) = await Send(s, HttpMethod.Get, "/api/conversations");
        Assert.Equal(401, none);
        var (_, a) = await Send(s, HttpMethod.Post, "/api/conversations", new { title = "Alice's" }, "alice-key");
        string id = a.GetProperty("id").GetString()!;
        await Send(s, HttpMethod.Post, "/api/conversations", new { title = "Bob's" }, "bob-key");

        var (_, aliceList) = await Send(s, HttpMethod.Get, "/api/conversations", key: "alice-key");
        var (_, bobList) = await Send(s, HttpMethod.Get, "/api/conversations", key: "bob-key");
        Assert.Equal("Alice's", Assert.Single(aliceList.GetProperty("data").EnumerateArray()).GetProperty("title").GetString());
        Assert.Equal("Bob's", Assert.Single(bobList.GetProperty("data").EnumerateArray()).GetProperty("title").GetString());

        // Bob can neither read, rename, append to, truncate nor delete Alice's conversation.
        Assert.Equal(404, (await Send(s, HttpMethod.Get, $"/api/conversations/{id}", key: "bob-key")).Status);
        Assert.Equal(404, (await Send(s, HttpMethod.Patch, $"/api/conversations/{id}", new { title = "mine" }, "bob-key")).Status);
        Assert.Equal(404, (await Send(s, HttpMethod.Post, $"/api/conversations/{id}/messages", new { role = "user", content = "x" }, "bob-key")).Status);
        Assert.Equal(404, (await Send(s, HttpMethod.Delete, $"/api/conversations/{id}/messages?from=0", key: "bob-key")).Status);
        Assert.Equal(404, (await Send(s, HttpMethod.Delete, $"/api/conversations/{id}", key: "bob-key")).Status);
        var (_, still) = await Send(s, HttpMethod.Get, $"/api/conversations/{id}", key: "alice-key");
        Assert.Equal("Alice's", still.GetProperty("title").GetString());
        Assert.Equal(0, still.GetProperty("messages").GetArrayLength());

        // The page itself needs no key (it asks for one); the API does.
        using var page = await s.Http.GetAsync(s.BaseUrl + "/");
        Assert.NotEqual(HttpStatusCode.Unauthorized, page.StatusCode);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST", "/api/conversations", "{\"title\": 5}", 400, "title")]
    [InlineData("POST", "/api/conversations", "{\"title\": \"   \"}", 422, "title")]
    [InlineData("POST", "/api/conversations", "{\"settings\": [1]}", 400, "settings")]
    [InlineData("POST", "/api/conversations", "[1,2]", 400, null)]
    [InlineData("POST", "/api/conversations", "{\"title\": ", 400, null)]
    [InlineData("PATCH", "/api/conversations/{id}", "", 400, null)]
    [InlineData("POST", "/api/conversations/{id}/messages", "{\"role\": \"robot\", \"content\": \"x\"}", 422, "role")]
    [InlineData("POST", "/api/conversations/{id}/messages", "{\"role\": \"user\"}", 400, "content")]
    [InlineData("POST", "/api/conversations/{id}/messages", "{\"role\": \"user\", \"content\": \"x\", \"meta\": \"no\"}", 400, "meta")]
    [InlineData("DELETE", "/api/conversations/{id}/messages?from=abc", "", 400, "from")]
    [InlineData("GET", "/api/conversations/nope", "", 404, "id")]
    public async Task BadInputIsAnOpenAiShapedError(string method, string path, string body, int status, string? param)
    {
        await using var s = await TestServer.StartAsync(stories: false);
        var (_, created) = await Send(s, HttpMethod.Post, "/api/conversations", new { title = "x" });
        path = path.Replace("{id}", created.GetProperty("id").GetString(), StringComparison.Ordinal);
        var (code, error) = await SendRaw(s, new HttpMethod(method), path, body.Length > 0 ? body : null);
        Assert.Equal(status, code);
        var e = error.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(e.GetProperty("message").GetString()));
        if (param is not null) Assert.Equal(param, e.GetProperty("param").GetString());
    }

    [Fact]
    public async Task TitlesAreStoredVerbatimAndTooLongOnesAreRefused()
    {
        await using var s = await TestServer.StartAsync(stories: false);
        const string evil = "<img src=x onerror=alert(1)><script>alert(2)</script>";
        var (_, c) = await Send(s, HttpMethod.Post, "/api/conversations", new { title = evil });
        var (_, got) = await Send(s, HttpMethod.Get, "/api/conversations/" + c.GetProperty("id").GetString());
        Assert.Equal(evil, got.GetProperty("title").GetString()); // the page renders titles as text
        var (code, _) = await Send(s, HttpMethod.Post, "/api/conversations", new { title = new string('a', 201) });
        Assert.Equal(422, code);
    }

    [Fact]
    public async Task ConversationsSurviveARestartWithTheSameDatabaseFile()
    {
        string db = Path.Combine(Path.GetTempPath(), $"whale-conv-{Guid.NewGuid():N}.db");
        try
        {
            string id;
            await using (var s1 = await TestServer.StartAsync(new WhaleServerOptions { DatabasePath = db }, stories: false))
            {
                var (_, c) = await Send(s1, HttpMethod.Post, "/api/conversations", new { title = "kept" });
                id = c.GetProperty("id").GetString()!;
                await Send(s1, HttpMethod.Post, $"/api/conversations/{id}/messages", new { role = "user", content = "remember me" });
            }
            await using var s2 = await TestServer.StartAsync(new WhaleServerOptions { DatabasePath = db }, stories: false);
            var (code, got) = await Send(s2, HttpMethod.Get, "/api/conversations/" + id);
            Assert.Equal(200, code);
            Assert.Equal("remember me", got.GetProperty("messages")[0].GetProperty("content").GetString());
        }
        finally
        {
            foreach (var f in new[] { db, db + "-wal", db + "-shm" }) File.Delete(f);
        }
    }

    [Fact]
    public async Task ModelsSayWhetherTheyChatAndReason()
    {
        await using var s = await TestServer.StartAsync();
        using var resp = await s.Http.GetAsync(s.BaseUrl + "/v1/models");
        using var doc = JsonDocument.Parse(await resp.Content.ReadAsStringAsync());
        var byId = doc.RootElement.GetProperty("data").EnumerateArray().ToDictionary(m => m.GetProperty("id").GetString()!);
        Assert.True(byId["tiny"].GetProperty("reasoning").GetBoolean());
        Assert.True(byId["tiny"].GetProperty("thinking_toggle").GetBoolean());
        Assert.False(byId["stories"].GetProperty("chat").GetBoolean());
        Assert.False(byId["stories"].GetProperty("reasoning").GetBoolean());
    }

    private static Task<(int Status, JsonElement Body)> Send(TestServer s, HttpMethod method, string path, object? body = null, string? key = null) =>
        SendRaw(s, method, path, body is null ? null : JsonSerializer.Serialize(body), key);

    private static async Task<(int Status, JsonElement Body)> SendRaw(TestServer s, HttpMethod method, string path, string? body, string? key = null)
    {
        using var req = new HttpRequestMessage(method, s.BaseUrl + path);
        if (body is not null) req.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (key is not null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var resp = await s.Http.SendAsync(req);
        string text = await resp.Content.ReadAsStringAsync();
        return ((int)resp.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }
}
