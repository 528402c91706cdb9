// The official OpenAI .NET SDK against `whale serve MODEL.gguf` (default http://127.0.0.1:8080/v1):
// a JSON-schema answer and a tool call round trip. Usage: dotnet run --project samples/OpenAiAgainstServer -- [URL]
using System.ClientModel;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

string url = args.Length > 0 ? args[0] : "http://127.0.0.1:8080/v1";
var client = new ChatClient("default", new ApiKeyCredential(Environment.GetEnvironmentVariable("WHALE_API_KEY") ?? "unused"),
    new OpenAIClientOptions { Endpoint = new Uri(url) });

// 1. response_format json_schema (strict): the server constrains decoding to the schema.
var schema = BinaryData.FromString("""
    {"type":"object","properties":{"name":{"type":"string"},"year":{"type":"integer"}},
     "required":["name","year"],"additionalProperties":false}
    """);
var json = await client.CompleteChatAsync([new UserChatMessage("Name a famous bridge and the year it opened, as JSON.")],
    new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("bridge", schema, jsonSchemaIsStrict: true), MaxOutputTokenCount = 1024 });
Console.WriteLine($"json_schema: {json.Value.Content[0].Text}");

// 2. Tools: the model asks for get_weather; we run it and send the result back.
var tool = ChatTool.CreateFunctionTool("get_weather", "Gets the weather for a city",
    BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}"""),
    functionSchemaIsStrict: true);
var options = new ChatCompletionOptions { Tools = { tool }, MaxOutputTokenCount = 1024 };
List<ChatMessage> messages = [new UserChatMessage("What's the weather in Hangzhou?")];
var first = (await client.CompleteChatAsync(messages, options)).Value;
if (first.FinishReason == ChatFinishReason.ToolCalls)
{
    messages.Add(new AssistantChatMessage(first));
    foreach (var call in first.ToolCalls)
    {
        using var args0 = JsonDocument.Parse(call.FunctionArguments);
        string city = args0.RootElement.TryGetProperty("city", out var c) ? c.GetString() ?? "?" : "?";
        messages.Add(new ToolChatMessage(call.Id, $"{{\"city\":\"{city}\",\"temperature_c\":24,\"sky\":\"light rain\"}}"));
    }
    var second = (await client.CompleteChatAsync(messages, options)).Value;
    Console.WriteLine(second.Content.Count > 0 ? second.Content[0].Text : "(no text)");
}
else
{
    Console.WriteLine(first.Content.Count > 0 ? first.Content[0].Text : "(no text)");
}
