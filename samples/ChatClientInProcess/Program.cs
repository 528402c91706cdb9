// Whale in-process through Microsoft.Extensions.AI: streaming with reasoning, a JSON-schema answer, and a tool
// invoked by UseFunctionInvocation(). Usage: dotnet run --project samples/ChatClientInProcess -- MODEL.gguf
using System.ComponentModel;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Whale.AI;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: ChatClientInProcess MODEL.gguf");
    return 1;
}

var services = new ServiceCollection();
services.AddWhale(args[0]);
await using var provider = services.BuildServiceProvider();
var inner = provider.GetRequiredService<IChatClient>();
using var chat = new ChatClientBuilder(inner).UseFunctionInvocation().Build();

// 1. Streaming: reasoning and answer arrive separately.
await foreach (var update in chat.GetStreamingResponseAsync("Why is the sky blue? One sentence.", new ChatOptions { MaxOutputTokens = 512 }))
{
    foreach (var c in update.Contents)
    {
        if (c is TextReasoningContent r) Console.Write($"\e[2m{r.Text}\e[0m");
        else if (c is TextContent t) Console.Write(t.Text);
        else if (c is UsageContent u) Console.WriteLine($"\n[{u.Details.InputTokenCount} in ({u.Details.CachedInputTokenCount} cached), {u.Details.OutputTokenCount} out]");
    }
}

// 2. Structured output: the schema is enforced while decoding.
var city = await chat.GetResponseAsync<CityInfo>("Describe Paris.", new ChatOptions { MaxOutputTokens = 1024 });
Console.WriteLine($"structured: {JsonSerializer.Serialize(city.Result)}");

// 3. Tools: the model calls GetWeather, the function runs, the model answers with its result.
var options = new ChatOptions { Tools = [AIFunctionFactory.Create(GetWeather)], MaxOutputTokens = 1024 };
var answer = await chat.GetResponseAsync("What's the weather in Hangzhou?", options);
Console.WriteLine(answer.Text);
return 0;

[Description("Gets the current weather for a city")]
static string GetWeather([Description("The city")] string city) => $"{city}: 24°C, light rain";

internal sealed record CityInfo(string Name, string Country, int Population);
