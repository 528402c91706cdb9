using System.Threading.Channels;
using Whale.Engine;

namespace Whale.Server.Tests.TestData;

/// <summary>
/// Test-only engine that replays fixed text instead of running a model, so browser tests can see exact answers
/// (reasoning then Markdown, math and code), slow streams to stop, markup that must stay text, and a full queue.
/// The script is chosen by words in the last user message: "xss", "slow", "busy" (429 on every other try), else a
/// worked multiplication. <c>thinking: disabled</c> (budget 0) skips the reasoning. Never used by the product.
/// </summary>
public sealed class ScriptedEngine(WhaleModel model, TimeSpan tokenDelay) : IInferenceEngine
{
    private int _answers;
    private int _busy;

    public const string XssAnswer = "Here is markup: <script>window.__xss = 1</script> and <img src=x onerror=\"window.__xss = 2\"> end of markup.";

    public int ContextSize => 512;

    public ChannelReader<EngineEvent> Submit(EngineRequest request, CancellationToken cancellationToken = default)
    {
        string prompt = model.Tokenizer.Decode(request.PromptTokens, renderSpecial: true);
        int user = prompt.LastIndexOf("User", StringComparison.Ordinal);
        string last = (user >= 0 ? prompt[user..] : prompt).ToLowerInvariant();
        if (last.Contains("busy", StringComparison.Ordinal) && Interlocked.Increment(ref _busy) % 2 == 1)
            throw new EngineQueueFullException();
        int n = Interlocked.Increment(ref _answers);
        (string reasoning, string answer, TimeSpan delay) = last switch
        {
            _ when last.Contains("xss", StringComparison.Ordinal) => ("Checking the markup.", XssAnswer, tokenDelay),
            _ when last.Contains("slow", StringComparison.Ordinal) => ("A long story.", string.Concat(Enumerable.Repeat("Once upon a time there was a whale. ", 80)), tokenDelay * 3),
            _ => ("The user asks for 17 × 23. 17 × 20 = 340 and 17 × 3 = 51, so the product is 340 + 51 = 391. Let me also show the check in Python and the sum formula.",
                  $"**17 × 23 = 391** (answer #{n})\n\nCheck: $17 \\times 23 = 391$.\n\n```python\ndef product(a, b):\n    return a * b  # 391\n\nprint(product(17, 23))\n```\n\n$$\\sum_{{i=1}}^{{n}} i = \\frac{{n(n+1)}}{{2}}$$\n",
                  tokenDelay),
        };
        if (request.Options.ThinkingBudget == 0) reasoning = "";
        var channel = Channel.CreateUnbounded<EngineEvent>();
        _ = Task.Run(() => ReplayAsync(channel.Writer, request.PromptTokens.Count, reasoning, answer, delay, cancellationToken), CancellationToken.None);
        return channel.Reader;
    }

    private static async Task ReplayAsync(ChannelWriter<EngineEvent> writer, int promptTokens, string reasoning, string answer, TimeSpan delay, CancellationToken ct)
    {
        int completion = 0, reasoningTokens = 0;
        try
        {
            foreach (var piece in Pieces(reasoning))
            {
                await Task.Delay(delay, ct).ConfigureAwait(false);
                await writer.WriteAsync(new EngineEvent(0, new TokenEvent(completion++, piece, "") { InReasoning = true }), ct).ConfigureAwait(false);
                reasoningTokens++;
            }
            foreach (var piece in Pieces(answer))
            {
                await Task.Delay(delay, ct).ConfigureAwait(false);
                await writer.WriteAsync(new EngineEvent(0, new TokenEvent(completion++, "", piece)), ct).ConfigureAwait(false);
            }
            var usage = new EngineUsage(promptTokens, 0, completion, reasoningTokens, TimeSpan.Zero);
            await writer.WriteAsync(new EngineEvent(0, new TokenEvent(-1, "", "", "stop")) { Usage = usage }, ct).ConfigureAwait(false);
            writer.TryComplete();
        }
        catch (OperationCanceledException e)
        {
            writer.TryComplete(e);
        }
    }

    /// <summary>Splits text into word-sized pieces (a space stays with the word after it), like tokens.</summary>
    private static IEnumerable<string> Pieces(string text)
    {
        int start = 0;
        for (int i = 1; i <= text.Length; i++)
        {
            if (i == text.Length || (text[i] is ' ' or '\n' && text[i - 1] is not ' ' and not '\n'))
            {
                yield return text[start..i];
                start = i;
            }
        }
    }

    public EngineStats GetStats() => new();

    public Task DrainAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
