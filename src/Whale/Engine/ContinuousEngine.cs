using System.Diagnostics;
using System.Threading.Channels;
using Whale.Engine.Scheduling;
using Whale.Models.Paged;
using Whale.Sampling;
using Whale.Tokenization;

namespace Whale.Engine;

/// <summary>
/// Continuous batching over a paged, prefix-shared KV cache. One background thread runs steps: the
/// <see cref="Scheduler"/> picks decode tokens of running sequences and prefill chunks of new ones within a token
/// budget (preempting by recompute when blocks run out), the model runs them all in one batched forward over the
/// shared block storage, and each sequence that got logits samples its next token (its own sampler, stop strings,
/// reasoning parser, thinking budget, log-probabilities, as <see cref="Generator"/>). Full blocks are shared by
/// prefix hash (same cache key only), so repeated system prompts, earlier turns and the n choices of one request
/// are computed once. The model computes every row in the batched summation order, so a sequence's tokens do not
/// depend on what it was batched with (see <see cref="IPagedModel"/>).
/// </summary>
public sealed class ContinuousEngine : IInferenceEngine
{
    private float[] _masked = [];
    private readonly IPagedModel _model;
    private readonly Tokenizer _tokenizer;
    private readonly ContinuousEngineOptions _options;
    private readonly PagedKvCache _cache;
    private readonly BlockManager _blocks;
    private readonly Scheduler _scheduler;
    private readonly PagedBatch _batch = new();
    private readonly List<(Sequence Seq, int Count)> _scheduled = [];
    private readonly List<Sequence> _scan = [];
    private readonly float[] _logits;
    private readonly int _vocab;
    private readonly EngineFront<Job> _front = new();
    private readonly Thread _thread;
    private long _steps, _batchedTokens, _preemptions;
    private int _usedBlocks, _cachedBlocks;

    /// <summary>Starts the engine's thread for <paramref name="model"/> (which it does not own).</summary>
    /// <exception cref="NotSupportedException">The model's architecture has no batched paged forward yet (see <see cref="Supports"/>).</exception>
    public ContinuousEngine(WhaleModel model, ContinuousEngineOptions? options = null)
        : this(model.Model as IPagedModel ?? throw new NotSupportedException($"architecture {model.Config.Architecture} has no batched forward; use SerialEngine"),
            model.Tokenizer, model.ContextSize, options)
    {
    }

    internal ContinuousEngine(IPagedModel model, Tokenizer tokenizer, int defaultContextSize, ContinuousEngineOptions? options)
    {
        _model = model;
        _tokenizer = tokenizer;
        _options = options ?? new ContinuousEngineOptions();
        if (_options.MaxSequences < 1) throw new ArgumentException("max sequences must be at least 1", nameof(options));
        if (_options.MaxWaiting < 0) throw new ArgumentException("max waiting must be >= 0", nameof(options));
        if (_options.BlockSize < 1) throw new ArgumentException("block size must be at least 1", nameof(options));
        ContextSize = _options.ContextSize ?? defaultContextSize;
        int bs = _options.BlockSize;
        long tokens = Math.Max(_options.KvCacheTokens ?? Math.Max(2L * ContextSize, 8192), ContextSize);
        int numBlocks = (int)((tokens + bs - 1) / bs);
        _cache = model.CreatePagedCache(numBlocks, bs);
        _blocks = new BlockManager(numBlocks, bs);
        int budget = Math.Max(1, Math.Min(_options.MaxBatchTokens, model.MaxBatchTokens));
        _scheduler = new Scheduler(_blocks, _options.MaxSequences, budget, _options.PrefixCaching);
        _vocab = model.Config.VocabSize;
        _logits = new float[(long)Math.Min(_options.MaxSequences, budget) * _vocab];
        _thread = new Thread(Loop) { IsBackground = true, Name = "whale-engine" };
        _thread.Start();
    }

    /// <summary>True when <paramref name="model"/>'s architecture has the batched paged forward this engine needs.</summary>
    public static bool Supports(WhaleModel model) => model?.Model is IPagedModel;

    /// <inheritdoc/>
    public int ContextSize { get; }

    /// <summary>Bytes of the shared KV storage.</summary>
    public long KvCacheBytes => _cache.Bytes;

    /// <summary>Batched forwards run, tokens they computed, and sequences preempted (for benchmarks).</summary>
    public (long Steps, long Tokens, long Preemptions) StepCounters =>
        (Interlocked.Read(ref _steps), Interlocked.Read(ref _batchedTokens), Interlocked.Read(ref _preemptions));

    /// <inheritdoc/>
    public ChannelReader<EngineEvent> Submit(EngineRequest request, CancellationToken cancellationToken = default)
    {
        _front.Validate(request, ContextSize, _vocab);
        return _front.Enqueue(new Job(request, cancellationToken, _front.ShutdownToken), _options.MaxWaiting,
            _options.MaxSequences - Volatile.Read(ref _front.RunningCount));
    }

    /// <inheritdoc/>
    public EngineStats GetStats() => _front.Counters() with
    {
        KvCacheUsage = (double)Volatile.Read(ref _usedBlocks) / _blocks.NumBlocks,
        KvCachedTokens = (long)Math.Max(Volatile.Read(ref _usedBlocks), Volatile.Read(ref _cachedBlocks)) * _blocks.BlockSize,
        KvCapacityTokens = (long)_blocks.NumBlocks * _blocks.BlockSize,
    };

    /// <inheritdoc/>
    public Task DrainAsync(CancellationToken cancellationToken) => _front.DrainAsync(cancellationToken);

    /// <summary>Cancels every request and stops the thread.</summary>
    public async ValueTask DisposeAsync() => await _front.StopAsync().ConfigureAwait(false);

    private void Loop()
    {
        try
        {
            while (true)
            {
                while (_front.Queue.TryRead(out var job))
                {
                    if (Volatile.Read(ref job.State) != Job.Waiting) { job.Dispose(); continue; }
                    _scheduler.Add(NewChoice(job, 0));
                }
                DropCancelled();
                if (_scheduler.IsIdle)
                {
                    PublishGauges();
                    if (!_front.WaitForWork()) break;
                    continue;
                }
                _scheduler.Schedule(_batch, _scheduled);
                PublishGauges();
                if (_scheduled.Count == 0) { Thread.Sleep(1); continue; }   // cannot happen while the context fits the storage
                foreach (var (seq, _) in _scheduled) Start(((Choice)seq.Owner!).Job);
                try
                {
                    _model.ForwardPaged(_batch, _cache, _logits);
                }
                catch (Exception e)
                {
                    foreach (var (seq, _) in _scheduled) Fail(((Choice)seq.Owner!).Job, e);
                    continue;
                }
                _steps++;
                _batchedTokens += _batch.TokenCount;
                Interlocked.Exchange(ref _preemptions, _scheduler.PreemptionsTotal);
                for (int i = 0; i < _scheduled.Count; i++)
                {
                    var (seq, n) = _scheduled[i];
                    var choice = (Choice)seq.Owner!;
                    if (choice.Done) continue;
                    int from = seq.NumComputed;
                    Interlocked.Add(ref _front.Prefill, Math.Max(0, Math.Min(from + n, seq.PromptLength) - from));
                    _scheduler.Computed(seq, n);
                    int row = _batch.SeqLogitRow[i];
                    if (row < 0) continue;
                    try
                    {
                        if (choice.Index == 0 && !choice.Job.ChoicesSpawned) SpawnChoices(choice.Job, seq);
                        OnLogits(choice, _logits.AsSpan(row * _vocab, _vocab));
                    }
                    catch (Exception e)
                    {
                        Fail(choice.Job, e);   // this request only (a sampler or decoder error); the others go on
                    }
                }
                Interlocked.Exchange(ref _front.Queries, _scheduler.PrefixQueries);
                Interlocked.Exchange(ref _front.Hits, _scheduler.PrefixHits);
            }
        }
        catch (Exception e)
        {
            foreach (var seq in AllSequences()) Fail(((Choice)seq.Owner!).Job, e);
        }
        finally
        {
            foreach (var seq in AllSequences()) Fail(((Choice)seq.Owner!).Job, new OperationCanceledException("the engine stopped"));
            _front.LoopEnded();
        }
    }

    private List<Sequence> AllSequences()
    {
        _scan.Clear();
        _scan.AddRange(_scheduler.Running);
        _scan.AddRange(_scheduler.Waiting);
        return _scan;
    }

    private void PublishGauges()
    {
        Volatile.Write(ref _usedBlocks, _blocks.UsedBlocks);
        Volatile.Write(ref _cachedBlocks, _blocks.CachedBlocks);
    }

    /// <summary>Ends cancelled sequences now: their blocks are freed before the next step is scheduled.</summary>
    private void DropCancelled()
    {
        foreach (var seq in AllSequences())
        {
            var choice = (Choice)seq.Owner!;
            var job = choice.Job;
            if (Volatile.Read(ref job.State) == Job.Cancelled)
            {
                // Cancelled while waiting: the stream is already complete.
                _scheduler.Finish(seq);
                choice.Done = true;
                job.Completed = true;
                job.Dispose();
            }
            else if (job.Cancel.IsCancellationRequested && job.State == Job.Running)
            {
                End(choice, "cancelled");
            }
        }
    }

    /// <summary>The request starts (leaves the waiting count) when its first sequence is first scheduled.</summary>
    private void Start(Job job)
    {
        if (job.State != Job.Waiting || !_front.TryStart(job)) return;
        job.QueueTime = Stopwatch.GetElapsedTime(job.Submitted);
    }

    private Sequence NewChoice(Job job, int index)
    {
        var request = job.Request;
        var options = request.Options;
        if (index > 0 && options.Sampling.Seed is { } seed)
            options = options with { Sampling = options.Sampling with { Seed = seed + (ulong)index } };
        var seq = new Sequence(request.PromptTokens, request.CacheKey);
        var choice = new Choice(job, index, options, seq, new Sampler(options.Sampling, _vocab), _tokenizer.CreateStreamingDecoder(options.RenderSpecialTokens),
            options.ParseReasoning ? new ReasoningParser(options.PromptOpensThinking) : null, new StopMatcher(options.Stop));
        foreach (int t in request.PromptTokens) choice.Sampler.Accept(t);
        seq.Owner = choice;
        job.Created++;
        return seq;
    }

    /// <summary>Choices 1..n-1 start once choice 0's prompt is computed, so they share its full prompt blocks (with prefix caching on).</summary>
    private void SpawnChoices(Job job, Sequence first)
    {
        job.ChoicesSpawned = true;
        job.CachedPromptTokens = first.CachedPromptTokens;
        for (int i = 1; i < job.Request.N; i++) _scheduler.Add(NewChoice(job, i));
    }

    /// <summary>One generation step of a choice whose tokens are all computed: <see cref="Generator"/>'s loop body.</summary>
    private void OnLogits(Choice c, ReadOnlySpan<float> logits)
    {
        var options = c.Options;
        var seq = c.Seq;
        if (c.Job.Cancel.IsCancellationRequested) { End(c, "cancelled"); return; }
        if (c.Completion >= options.MaxTokens || seq.Tokens.Count >= ContextSize) { End(c, "length"); return; }
        bool inReasoning = c.Reasoning?.InReasoning ?? false;
        if (c.Forced is null && inReasoning && options.ThinkingBudget is { } budget && c.ReasoningTokens >= budget)
            c.Forced = new Queue<int>(_tokenizer.Encode(c.ReasoningTokens == 0 ? "</think>\n\n" : "\n</think>\n\n", addSpecial: false, parseSpecial: true));
        int id;
        if (c.Forced is { Count: > 0 }) id = c.Forced.Dequeue();
        else if (c.Constraint is not null && !inReasoning)
        {
            // Structured output: mask a copy of this sequence's logits (the batch's buffer stays untouched).
            if (_masked.Length < logits.Length) _masked = new float[logits.Length];
            var masked = _masked.AsSpan(0, logits.Length);
            logits.CopyTo(masked);
            c.Constraint.ApplyMask(masked);
            id = c.Sampler.Sample(masked);
        }
        else id = c.Sampler.Sample(logits);
        if (c.Constraint is not null && !inReasoning) c.Constraint.Accept(id);
        var logprob = options.TopLogprobs is { } top ? Generator.Logprobs(logits, id, top) : null;
        c.Sampler.Accept(id);
        if (inReasoning) c.ReasoningTokens++;
        if (_tokenizer.IsEog(id)) { End(c, "stop"); return; }
        string text = c.Decoder.Push(id);
        var (r, content) = c.Reasoning is null ? ("", text) : c.Reasoning.Push(text);
        (content, bool stopped) = c.Stops.Push(content);
        c.Completion++;
        Interlocked.Increment(ref _front.Generated);
        c.Job.Events.Writer.TryWrite(new EngineEvent(c.Index, new TokenEvent(id, r, content) { InReasoning = inReasoning, Logprob = logprob }));
        if (stopped) { End(c, "stop"); return; }
        seq.Tokens.Add(id);
        // Generator would compute this token and then stop on length: same events, one forward less.
        if (c.Completion >= options.MaxTokens || seq.Tokens.Count >= ContextSize) End(c, "length");
    }

    /// <summary>Flushes the choice's text, writes its final event, and frees its sequence.</summary>
    private void End(Choice c, string finish)
    {
        if (c.Done) return;
        c.Done = true;
        if (finish != "stop" || !c.Stops.Stopped)
        {
            string rest = c.Decoder.Flush();
            var (fr, fc) = c.Reasoning is null ? ("", rest) : c.Reasoning.Push(rest);
            var (fr2, fc2) = c.Reasoning?.Flush() ?? ("", "");
            var (tail, _) = c.Stops.Push(fc + fc2);
            tail += c.Stops.Flush();
            if (fr.Length + fr2.Length + tail.Length > 0) c.Job.Events.Writer.TryWrite(new EngineEvent(c.Index, new TokenEvent(-1, fr + fr2, tail)));
        }
        var job = c.Job;
        int cached = job.ChoicesSpawned ? job.CachedPromptTokens : Math.Max(0, c.Seq.CachedPromptTokens);
        job.Events.Writer.TryWrite(new EngineEvent(c.Index, new TokenEvent(-1, "", "", finish))
        {
            Usage = new EngineUsage(job.Request.PromptTokens.Count, cached, c.Completion, c.ReasoningTokens, job.QueueTime),
        });
        _scheduler.Finish(c.Seq);
        if (finish == "cancelled" && !job.ChoicesSpawned)
        {
            // The other choices never started: nothing more will come for them.
            job.ChoicesSpawned = true;
            job.Remaining -= job.Request.N - job.Created;
        }
        if (--job.Remaining > 0) return;
        if (job.State == Job.Running) Complete(job, null);
        else
        {
            job.Completed = true;   // cancelled while waiting: its stream is already complete
            job.Dispose();
        }
    }

    private void Fail(Job job, Exception error)
    {
        if (job.Completed) return;
        foreach (var seq in AllSequences().ToArray())
        {
            var c = (Choice)seq.Owner!;
            if (c.Job != job) continue;
            c.Done = true;
            _scheduler.Finish(seq);
        }
        if (_front.CancelIfWaiting(job, error, countFinished: true))
        {
            job.Completed = true;
            job.Dispose();
            return;
        }
        if (job.State == Job.Running) Complete(job, error);
    }

    private void Complete(Job job, Exception? error)
    {
        if (job.Completed) return;
        job.Completed = true;
        _front.Complete(job, error);
    }

    private sealed class Choice(Job job, int index, GenerationOptions options, Sequence seq, Sampler sampler, StreamingDecoder decoder,
        ReasoningParser? reasoning, StopMatcher stops)
    {
        public Job Job { get; } = job;
        public int Index { get; } = index;
        public GenerationOptions Options { get; } = options;
        public Sequence Seq { get; } = seq;
        public Sampler Sampler { get; } = sampler;
        public StreamingDecoder Decoder { get; } = decoder;
        public ReasoningParser? Reasoning { get; } = reasoning;
        public StopMatcher Stops { get; } = stops;
        public Queue<int>? Forced { get; set; }
        public Whale.Constraints.ITokenConstraint? Constraint { get; } = options.Constraint?.Invoke();
        public int Completion { get; set; }
        public int ReasoningTokens { get; set; }
        public bool Done { get; set; }
    }

    private sealed class Job(EngineRequest request, CancellationToken requestToken, CancellationToken shutdown)
        : EngineJob(request, requestToken, shutdown)
    {
        public TimeSpan QueueTime { get; set; }
        public int Remaining { get; set; } = request.N;
        public int Created { get; set; }
        public bool ChoicesSpawned { get; set; }
        public int CachedPromptTokens { get; set; }
        public bool Completed { get; set; }
    }
}
