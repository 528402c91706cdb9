using System.Globalization;
using Whale.Engine;
using Whale.Gguf;
using Whale.Models;
using Whale.Sampling;
using Whale.Tests.LlamaCpp;
using Whale.Tests.Models;
using Whale.Tests.Models.DeepSeek2;
using Whale.Tokenization;
using Xunit.Abstractions;

namespace Whale.Tests.Engine;

/// <summary>
/// Multi-token-prediction speculative decoding in <see cref="Generator"/>: the same tokens as plain decoding (greedy
/// and sampled, fresh and reused caches, on the shipped model and on synthetic files with an MTP block), rejected
/// drafts rolled back, and the shipped model's drafts mostly accepted on held-out questions.
/// </summary>
[Collection(DeepSeek2Collection.Name)]
public class SpeculativeGeneratorTests(DeepSeek2Fixture fx, ITestOutputHelper output)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static (List<int> Tokens, string? Finish, string Text) Run(Generator gen, IReadOnlyList<int> prompt, GenerationOptions options)
    {
        var tokens = new List<int>();
        string? finish = null;
        var text = new System.Text.StringBuilder();
        foreach (var ev in gen.Generate(prompt, options))
        {
            if (ev.TokenId >= 0) tokens.Add(ev.TokenId);
            text.Append(ev.Reasoning).Append('|').Append(ev.Content);
            if (ev.IsFinal) finish = ev.FinishReason;
        }
        return (tokens, finish, text.ToString());
    }

    [Fact]
    public void ShippedModelGreedyOutputIsIdenticalAndMostDraftsAreAccepted()
    {
        using var model = WhaleModel.Load(ShippedModelParityTests.ShippedPath(), new ModelOptions { Threads = 2 });
        using var plain = model.CreateGenerator(1024);
        using var spec = model.CreateGenerator(1024);
        var baseOptions = new GenerationOptions { Sampling = SamplingParams.Greedy, MaxTokens = 200, PromptOpensThinking = true };
        Assert.False(plain.Speculates(baseOptions));                 // off by default
        Assert.True(spec.Speculates(baseOptions with { Speculative = true }));
        int generated = 0;
        foreach (string q in HeldOutQuestions(5))
        {
            // one generator per mode for all questions: prompts share the template prefix, so caches are reused and cut
            var prompt = model.TokenizeChat([new ChatMessage(ChatRole.User, q)]);
            var a = Run(plain, prompt, baseOptions);
            var b = Run(spec, prompt, baseOptions with { Speculative = true });
            Assert.Equal(a.Tokens, b.Tokens);
            Assert.Equal(a.Finish, b.Finish);
            Assert.Equal(a.Text, b.Text);
            generated += a.Tokens.Count;
        }
        var s = spec.Speculation;
        Assert.Equal(0, plain.Speculation.Drafted);
        output.WriteLine($"20 held-out questions, {generated} tokens: {s.Accepted}/{s.Drafted} drafts accepted ({s.AcceptanceRate:P1})");
        Assert.True(s.Drafted > generated / 3, $"{s.Drafted} drafts for {generated} tokens");
        Assert.True(s.AcceptanceRate > 0.5, $"acceptance {s.AcceptanceRate:P1}");
    }

    [Fact]
    public void ShippedModelSampledOutputIsIdentical()
    {
        using var model = WhaleModel.Load(ShippedModelParityTests.ShippedPath(), new ModelOptions { Threads = 2 });
        foreach (string q in HeldOutQuestions(1))
        {
            var prompt = model.TokenizeChat([new ChatMessage(ChatRole.User, q)]);
            var options = new GenerationOptions
            {
                Sampling = new SamplingParams { Temperature = 1.0f, TopP = 0.95f, Seed = 7 },
                MaxTokens = 120,
                PromptOpensThinking = true,
                TopLogprobs = 3,
            };
            using var plain = model.CreateGenerator(512);
            using var spec = model.CreateGenerator(512);
            var a = plain.Generate(prompt, options).ToList();
            var b = spec.Generate(prompt, options with { Speculative = true }).ToList();
            Assert.Equal(a.Select(e => (e.TokenId, e.Reasoning, e.Content, e.FinishReason)), b.Select(e => (e.TokenId, e.Reasoning, e.Content, e.FinishReason)));
            Assert.Equal(a.Select(e => e.Logprob?.Logprob), b.Select(e => e.Logprob?.Logprob));
            output.WriteLine($"{q}: {a.Count(e => e.TokenId >= 0)} tokens, {spec.Speculation.Accepted}/{spec.Speculation.Drafted} accepted");
        }
    }

    /// <summary>Random prompts and lengths on synthetic V3-like files with an MTP block, some ending at the context size.</summary>
    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.Q8_0)]
    public void SyntheticModelOutputIsIdentical(GgmlType type)
    {
        using var model = WhaleModel.Load(fx.GetWithMtp("v3-tiny", type), new ModelOptions { Threads = 2, BatchSize = 32 });
        int V = model.Config.VocabSize;
        var rng = new Random(17);
        using var plain = model.CreateGenerator(96);
        using var spec = model.CreateGenerator(96);
        int cases = 0, tokens = 0;
        for (int i = 0; i < 16; i++)
        {
            var prompt = Enumerable.Range(0, 1 + rng.Next(60)).Select(_ => rng.Next(V)).ToArray();
            var sampling = i % 4 == 3 ? new SamplingParams { Temperature = 0.9f, Seed = (ulong)i } : SamplingParams.Greedy;
            // every third prompt runs into the context size (96) instead of the token limit
            var options = new GenerationOptions { Sampling = sampling, MaxTokens = i % 3 == 1 ? 200 : 1 + rng.Next(60), ParseReasoning = false };
            var a = Run(plain, prompt, options);
            var b = Run(spec, prompt, options with { Speculative = true });
            Assert.Equal(a.Tokens, b.Tokens);
            Assert.Equal(a.Finish, b.Finish);
            if (i % 3 == 1) Assert.Equal(96, prompt.Length + a.Tokens.Count);
            cases++;
            tokens += a.Tokens.Count;
        }
        var s = spec.Speculation;
        output.WriteLine($"{type}: {cases} prompts, {tokens} tokens identical; {s.Accepted}/{s.Drafted} drafts accepted");
        Assert.True(s.Drafted > 0);
    }

    [Fact]
    public void SpeculativeIsIgnoredWithoutAnMtpBlock()
    {
        using var model = WhaleModel.Load(fx.Get("v3-tiny", GgmlType.Q8_0), new ModelOptions { Threads = 2 });
        using var gen = model.CreateGenerator(64);
        var options = new GenerationOptions { Sampling = SamplingParams.Greedy, MaxTokens = 6, ParseReasoning = false, Speculative = true };
        Assert.False(gen.Speculates(options));
        var a = Run(gen, [1, 2, 3], options);
        var b = Run(gen, [1, 2, 3], options with { Speculative = false });
        Assert.Equal(6, a.Tokens.Count);
        Assert.Equal(a.Tokens, b.Tokens);
        Assert.Equal(0, gen.Speculation.Drafted);
    }

    /// <summary>A conversation on one generator: extended, diverging and reset prompts, speculating or not, against plain decoding.</summary>
    [Fact]
    public void ReusedCachesAndModeSwitchesGiveTheSameTokens()
    {
        using var model = WhaleModel.Load(fx.GetWithMtp("v3-tiny", GgmlType.F32), new ModelOptions { Threads = 2, BatchSize = 16 });
        var tok = model.Tokenizer;
        using var plain = model.CreateGenerator(256);
        using var mixed = model.CreateGenerator(256);
        var greedy = new GenerationOptions { Sampling = SamplingParams.Greedy, MaxTokens = 24, ParseReasoning = false };
        var history = new List<int>(tok.Encode("Tell me about whales and the sea.", addSpecial: true, parseSpecial: true));
        bool[] modes = [true, true, false, true, true, false, true];
        for (int turn = 0; turn < modes.Length; turn++)
        {
            IReadOnlyList<int> prompt = history;
            if (turn == 3) prompt = history.Take(history.Count / 2).Concat(tok.Encode(" Why?", addSpecial: false)).ToList();   // diverges mid-way
            if (turn == 5) { plain.Reset(); mixed.Reset(); }
            var a = Run(plain, prompt, greedy);
            var b = Run(mixed, prompt, greedy with { Speculative = modes[turn] });
            Assert.Equal(a.Tokens, b.Tokens);
            history = [.. prompt, .. a.Tokens, .. tok.Encode(" And then?", addSpecial: false)];
        }
        output.WriteLine($"{modes.Length} turns identical; {mixed.Speculation.Accepted}/{mixed.Speculation.Drafted} drafts accepted");
        Assert.True(mixed.Speculation.Drafted > 0);
    }

    /// <summary>
    /// Forced tokens, half of them the draft and half not: after every step (accepted, rejected and rolled back) the
    /// logits and cache rows are bit for bit those of one-token steps on a fresh cache. The MTP state is bit for bit
    /// that of a replay that never drafted (plain steps, then one draft at the end), also after the prompt is cut
    /// behind the MTP cache's end; and close to a speculator that prefilled all tokens at once (no stale rows).
    /// </summary>
    [Theory]
    [InlineData(GgmlType.F32, 1e-3)]
    [InlineData(GgmlType.Q8_0, 5e-2)]   // Q8_0 activations turn last-bit differences of batched vs one-token hidden states into rounding steps
    public void RejectedDraftsAreRolledBack(GgmlType type, double freshTolerance)
    {
        using var wm = WhaleModel.Load(fx.GetWithMtp("v3-tiny", type), new ModelOptions { Threads = 2, BatchSize = 16 });
        var model = (IMtpModel)wm.Model;
        int V = model.Config.VocabSize;
        var rng = new Random(5);
        var prompt = Enumerable.Range(0, 21).Select(_ => rng.Next(V)).ToList();
        var cache = model.CreateCache(200);
        var spec = new MtpSpeculator(model, cache, 16);
        var replay = new MtpSpeculator(model, model.CreateCache(200), 16);
        var tokens = new List<int>(prompt);
        var logits = new float[V];
        var replayLogits = new float[V];
        spec.Prefill(tokens, 0, logits);
        replay.Prefill(tokens, 0, replayLogits);
        var refCache = model.CreateCache(200);
        var refLogits = new float[V];
        model.Forward(prompt.ToArray(), refCache, refLogits);
        Assert.Equal(refLogits, logits);

        int accepts = 0, rejects = 0;
        void Steps(int count)
        {
            for (int i = 0; i < count; i++)
            {
                // the last step rejects and drafts, so the MTP block has just run on every committed token
                bool last = i == count - 1;
                int draft = spec.PendingDraft;
                int id = !last && draft >= 0 && rng.Next(2) == 0 ? draft : rng.Next(V);
                while (last && id == draft) id = rng.Next(V);
                if (draft >= 0) { if (id == draft) accepts++; else rejects++; }
                tokens.Add(id);
                spec.Step(tokens, logits, speculate: last || i % 7 != 6);      // now and then a step without a draft
                replay.Step(tokens, replayLogits, speculate: last);
                model.Forward([id], refCache, refLogits);
                Assert.True(refLogits.AsSpan().SequenceEqual(logits), $"step {tokens.Count}: logits differ from one-token steps");
                Assert.True(refLogits.AsSpan().SequenceEqual(replayLogits), $"step {tokens.Count}: the replay's logits differ");
                for (int l = 0; l < refCache.Layers; l++)
                    Assert.True(refCache.K(l, 0, tokens.Count).SequenceEqual(cache.K(l, 0, tokens.Count)), $"step {tokens.Count}, layer {l}: cache rows differ");
                Assert.Equal(tokens.Count + (spec.PendingDraft >= 0 ? 1 : 0), cache.Length);
            }
        }
        void SameDraftingState(string when)
        {
            Assert.Equal(tokens.Count - 1, spec.MtpLength);
            Assert.Equal(replay.MtpLength, spec.MtpLength);
            Assert.True(replay.MtpCache.K(0, 0, spec.MtpLength).SequenceEqual(spec.MtpCache.K(0, 0, spec.MtpLength)), $"{when}: MTP cache rows differ from the replay");
            Assert.True(replay.DraftLogits.SequenceEqual(spec.DraftLogits), $"{when}: the draft logits differ from the replay");
            Assert.Equal(replay.PendingDraft, spec.PendingDraft);

            var fresh = new MtpSpeculator(model, model.CreateCache(200), 16);
            fresh.Prefill(tokens, 0, new float[V]);
            Assert.Equal(spec.MtpLength, fresh.MtpLength);
            double d = Parity.MaxRelativeDiff(spec.DraftLogits, fresh.DraftLogits);
            output.WriteLine($"{type} {when}: MTP logits vs a speculator prefilled at once max|diff|/max = {d:E2}");
            Assert.True(d < freshTolerance, $"{when}: {d:E2}");
        }
        Steps(60);
        Assert.True(accepts > 5 && rejects > 5, $"{accepts} accepts, {rejects} rejects");
        Assert.Equal(accepts, spec.Stats.Accepted);
        Assert.Equal(accepts + rejects + 1, spec.Stats.Drafted);     // + the last step's pending draft
        Assert.Equal(1, replay.Stats.Drafted);
        SameDraftingState("after 60 steps");

        // cut the tokens behind the MTP cache's end (the prompt diverges): the missing hidden state is recomputed
        int common = 30;
        tokens.RemoveRange(common, tokens.Count - common);
        tokens.AddRange(Enumerable.Range(0, 9).Select(_ => rng.Next(V)));
        spec.Prefill(tokens, common, logits);
        replay.Prefill(tokens, common, replayLogits);
        Assert.Equal(tokens.Count - 1, spec.MtpLength);
        refCache.Length = common;
        model.Forward(tokens.Skip(common).ToArray(), refCache, refLogits);
        Assert.True(refLogits.AsSpan().SequenceEqual(logits), "prefill after the cut: logits differ");
        for (int l = 0; l < refCache.Layers; l++)
            Assert.True(refCache.K(l, 0, tokens.Count).SequenceEqual(cache.K(l, 0, tokens.Count)), $"after the cut, layer {l}: cache rows differ");
        Steps(20);
        SameDraftingState("after a cut and 20 steps");
    }

    /// <summary>
    /// Questions of the four trained task kinds whose operands are in the training pipeline's held-out split (the
    /// same FNV-1a rule as Whale.Training's TaskGenerator.IsHeldOut), <paramref name="perKind"/> of each.
    /// </summary>
    internal static List<string> HeldOutQuestions(int perKind)
    {
        static bool HeldOut(int kind, params int[] operands)
        {
            uint h = 2166136261;
            void Mix(int v) { foreach (byte b in BitConverter.GetBytes(v)) { h ^= b; h *= 16777619; } }
            Mix(kind);
            foreach (var o in operands) Mix(o);
            return h % 10 == 0;
        }
        var rng = new Random(2024);
        var list = new List<string>();
        for (int kind = 0; kind < 4; kind++)
        {
            int found = 0;
            while (found < perKind)
            {
                string? q = null;
                switch (kind)
                {
                    case 0:
                        {
                            int a = rng.Next(1, 10000), b = rng.Next(1, 10000);
                            if (HeldOut(0, a, b)) q = string.Format(Inv, "What is {0} + {1}?", a, b);
                            break;
                        }
                    case 1:
                        {
                            int a = rng.Next(1, 10000), b = rng.Next(1, 10000);
                            if (a < b) (a, b) = (b, a);
                            if (HeldOut(1, a, b)) q = string.Format(Inv, "Subtract {1} from {0}.", a, b);
                            break;
                        }
                    case 2:
                        {
                            int a = rng.Next(2, 100), b = rng.Next(2, 10);
                            if (HeldOut(2, a, b)) q = string.Format(Inv, "What is {0} * {1}?", a, b);
                            break;
                        }
                    default:
                        {
                            int[] n = [rng.Next(1, 10), rng.Next(1, 10), rng.Next(1, 10)];
                            int target = (n[0] * n[1]) + n[2];
                            if (target <= 99 && HeldOut(3, n)) q = string.Format(Inv, "Using {0}, {1} and {2}, reach {3} with + - *.", n[0], n[1], n[2], target);
                            break;
                        }
                }
                if (q is null || list.Contains(q)) continue;
                list.Add(q);
                found++;
            }
        }
        return list;
    }
}
