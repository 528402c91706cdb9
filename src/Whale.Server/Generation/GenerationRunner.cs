using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Whale.Engine;
using Whale.Server.Errors;
using Whale.Server.Metrics;
using Whale.Server.Streaming;

namespace Whale.Server.Generation;

/// <summary>Submits a prepared request to its engine and answers it, as one JSON body or as an SSE stream.</summary>
internal sealed class GenerationRunner(ServerMetrics metrics, WhaleServerOptions options)
{
    public async Task RunAsync(HttpContext context, PreparedRequest request, long arrived)
    {
        var ct = context.RequestAborted;
        ChannelReader<EngineEvent> reader;
        try
        {
            reader = request.Model.Engine.Submit(request.Engine, ct);
        }
        catch (EngineQueueFullException e)
        {
            throw new ApiException(429, e.Message);
        }
        catch (EngineUnavailableException e)
        {
            throw new ApiException(503, "Server Overloaded: " + e.Message);
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest(e.Message);
        }

        var run = new Run(request, arrived, metrics);
        if (request.Stream) await StreamAsync(context, run, reader, ct).ConfigureAwait(false);
        else await WholeAsync(context, run, reader, ct).ConfigureAwait(false);
    }

    private async Task WholeAsync(HttpContext context, Run run, ChannelReader<EngineEvent> reader, CancellationToken ct)
    {
        try
        {
            await foreach (var ev in reader.ReadAllAsync(ct).ConfigureAwait(false)) run.Apply(ev);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            run.End("abort");
            return;
        }
        catch (Exception e) when (e is not ApiException)
        {
            run.End("error");
            throw new ApiException(500, "generation failed: " + e.Message);
        }
        run.End(null);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(run.Json.Whole(run.Choices), ct).ConfigureAwait(false);
    }

    private async Task StreamAsync(HttpContext context, Run run, ChannelReader<EngineEvent> reader, CancellationToken ct)
    {
        var sse = new SseWriter(context.Response, ct);
        try
        {
            await sse.StartAsync().ConfigureAwait(false);
            while (true)
            {
                // Keep-alive comments while the request waits in the queue or runs a long prefill.
                using (var delay = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    var read = reader.WaitToReadAsync(ct).AsTask();
                    while (await Task.WhenAny(read, Task.Delay(options.KeepAliveInterval, delay.Token)).ConfigureAwait(false) != read)
                        await sse.KeepAliveAsync().ConfigureAwait(false);
                    await delay.CancelAsync().ConfigureAwait(false);
                    if (!await read.ConfigureAwait(false)) break;
                }
                while (reader.TryRead(out var ev))
                    foreach (var chunk in run.Chunks(ev)) await sse.DataAsync(chunk).ConfigureAwait(false);
            }
            run.End(null);
            if (run.Request.IncludeUsage) await sse.DataAsync(run.Json.UsageChunk(run.Choices)).ConfigureAwait(false);
            await sse.DoneAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            run.End("abort");    // the client went away; the engine saw the same token and freed the sequence
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            run.End("error");
            var error = new ApiException(e is EngineUnavailableException ? 503 : 500, "generation failed: " + e.Message);
            try
            {
                await sse.DataAsync(ErrorWriter.Serialize(error)).ConfigureAwait(false);
            }
            catch (Exception) when (ct.IsCancellationRequested) { }
        }
    }

    /// <summary>The state of one request while it is answered.</summary>
    private sealed class Run(PreparedRequest request, long arrived, ServerMetrics metrics)
    {
        private long _firstToken, _lastToken;
        private int _tokens;
        private bool _ended;

        public PreparedRequest Request { get; } = request;
        public ResponseJson Json { get; } = new(request);
        public ChoiceState[] Choices { get; } = Enumerable.Range(0, request.Engine.N)
            .Select(_ => new ChoiceState { ToolParser = request.ToolSyntax is { } syntax ? new Whale.Tools.ToolCallParser(syntax) : null }).ToArray();

        /// <summary>Records an event; returns the answer text and the tool calls it adds.</summary>
        public (string Content, IReadOnlyList<Whale.Tokenization.ChatToolCall> Calls) Apply(EngineEvent ev)
        {
            var c = Choices[ev.Index];
            var t = ev.Token;
            if (t.TokenId >= 0) Timing();
            c.Reasoning.Append(t.Reasoning);
            string content = t.Content;
            IReadOnlyList<Whale.Tokenization.ChatToolCall> calls = [];
            if (c.ToolParser is { } parser)
            {
                (content, calls) = parser.Push(t.Content);
                if (t.IsFinal)
                {
                    var (rest, last) = parser.Flush();
                    content += rest;
                    calls = [.. calls, .. last];
                }
                c.ToolCalls.AddRange(calls);
            }
            c.Content.Append(content);
            if (t.Logprob is { } lp) c.Logprobs.Add((lp, t.InReasoning));
            if (t.IsFinal)
            {
                c.FinishReason = c.ToolCalls.Count > 0 && t.FinishReason == "stop" ? "tool_calls" : t.FinishReason;
                c.Usage = ev.Usage;
            }
            return (content, calls);
        }

        /// <summary>The stream chunks for one engine event.</summary>
        public IEnumerable<byte[]> Chunks(EngineEvent ev)
        {
            var c = Choices[ev.Index];
            var t = ev.Token;
            var (content, calls) = Apply(ev);
            if (Request.Chat)
            {
                if (!c.Started)
                {
                    c.Started = true;
                    yield return Json.ChatChunk(ev.Index, c, role: true, Request.ReasoningExpected ? "" : null, Request.ReasoningExpected ? null : "", c.LogprobsSent, null);
                }
                if (t.Reasoning.Length > 0)
                    yield return Json.ChatChunk(ev.Index, c, false, t.Reasoning, null, content.Length > 0 ? c.LogprobsSent : c.Logprobs.Count, null);
                if (content.Length > 0)
                    yield return Json.ChatChunk(ev.Index, c, false, null, content, c.Logprobs.Count, null);
                foreach (var call in calls)
                    yield return Json.ToolCallChunk(ev.Index, c.ToolCalls.Count - calls.Count + IndexOf(calls, call), call);
                if (t.IsFinal)
                {
                    var last = Json.ChatChunk(ev.Index, c, false, null, null, c.Logprobs.Count, c.FinishReason);
                    yield return !Request.IncludeUsage && Choices.All(x => x.FinishReason is not null) ? ResponseJson.WithUsage(last, Choices) : last;
                }
            }
            else
            {
                int offset = (Request.Echo?.Length ?? 0) + c.Content.Length - t.Content.Length;
                if (!c.Started)
                {
                    c.Started = true;
                    if (!string.IsNullOrEmpty(Request.Echo)) yield return Json.TextChunk(ev.Index, c, Request.Echo, c.LogprobsSent, null, 0);
                }
                if (t.Content.Length > 0) yield return Json.TextChunk(ev.Index, c, t.Content, c.Logprobs.Count, null, offset);
                if (t.IsFinal)
                {
                    var last = Json.TextChunk(ev.Index, c, "", c.Logprobs.Count, t.FinishReason, offset + t.Content.Length);
                    yield return !Request.IncludeUsage && Choices.All(x => x.FinishReason is not null) ? ResponseJson.WithUsage(last, Choices) : last;
                }
            }
        }

        private static int IndexOf(IReadOnlyList<Whale.Tokenization.ChatToolCall> calls, Whale.Tokenization.ChatToolCall call)
        {
            for (int i = 0; i < calls.Count; i++) if (ReferenceEquals(calls[i], call)) return i;
            return 0;
        }

        public void End(string? reason)
        {
            if (_ended) return;
            _ended = true;
            string model = Request.Model.Id;
            long now = Stopwatch.GetTimestamp();
            if (reason is null)
            {
                metrics.EndToEndLatency.Observe(model, Stopwatch.GetElapsedTime(arrived, now).TotalSeconds);
                if (_tokens > 1)
                {
                    double secs = Stopwatch.GetElapsedTime(_firstToken, _lastToken).TotalSeconds;
                    if (secs > 0) metrics.DecodeRate.Observe(model, (_tokens - 1) / secs);
                }
                reason = ResponseJson.MapFinish(Choices[^1].FinishReason);
            }
            if (Choices[0].Usage is { } u) metrics.QueueTime.Observe(model, u.QueueTime.TotalSeconds);
            metrics.Finished(model, reason);
        }

        private void Timing()
        {
            long now = Stopwatch.GetTimestamp();
            if (_tokens++ == 0)
            {
                _firstToken = now;
                metrics.TimeToFirstToken.Observe(Request.Model.Id, Stopwatch.GetElapsedTime(arrived, now).TotalSeconds);
            }
            else
            {
                metrics.InterTokenLatency.Observe(Request.Model.Id, Stopwatch.GetElapsedTime(_lastToken, now).TotalSeconds);
            }
            _lastToken = now;
        }
    }
}
