using Whale.Engine;
using Whale.Gguf;
using Whale.Models;
using Whale.Models.DeepSeek2;
using Whale.Tests.LlamaCpp;
using Xunit.Abstractions;

namespace Whale.Tests.Models.DeepSeek2;

/// <summary>
/// The MTP (nextn) block of deepseek2 files: loading, the hidden states the draft step needs, the row-order verify
/// forward that gives bit for bit the results of one-token steps, and the MTP forward itself.
/// </summary>
[Collection(DeepSeek2Collection.Name)]
public class DeepSeek2MtpTests(DeepSeek2Fixture fx, ITestOutputHelper output)
{
    private static WhaleModel Load(string path, int batch = 512) => WhaleModel.Load(path, new ModelOptions { Threads = 2, BatchSize = batch });

    private static int[] Prompt(WhaleModel m) => m.Tokenizer.Encode(DeepSeek2Fixture.Prompt, addSpecial: true, parseSpecial: true)[..40];

    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.Q8_0)]
    public void MtpBlockIsLoadedAndTheMainModelStaysAsItWas(GgmlType type)
    {
        using var with = Load(fx.GetWithMtp("v3-tiny", type));
        using var without = Load(fx.Get("v3-tiny", type));
        var mw = Assert.IsType<DeepSeek2Model>(with.Model);
        var mo = Assert.IsType<DeepSeek2Model>(without.Model);
        Assert.True(mw.HasMtp);
        Assert.False(mo.HasMtp);
        Assert.Equal(1, mw.DeepSeekConfig.NextNLayers);
        Assert.Equal(mo.DeepSeekConfig.NumLayers, mw.DeepSeekConfig.NumLayers);
        Assert.Throws<InvalidOperationException>(() => mo.CreateMtpCache(16));
        var tokens = Prompt(with);
        var a = with.CreateGenerator(128).Evaluate(tokens);
        var b = without.CreateGenerator(128).Evaluate(tokens);
        Assert.Equal(b, a);   // bit for bit: the MTP block takes no part in the main forward
    }

    /// <summary>
    /// [a, b] verified in one row-order forward gives the logits, hidden states and cache rows of Forward([a]) then
    /// Forward([b]) bit for bit, at many positions; the plain batched forward of the same two tokens does not (tinyBLAS
    /// order for float products, chained attention sums), which is why the verify step needs the row order.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.Q8_0)]
    public void RowOrderVerifyEqualsOneTokenSteps(GgmlType type)
    {
        using var wm = Load(fx.GetWithMtp("v3-tiny", type));
        var model = (DeepSeek2Model)wm.Model;
        int V = model.Config.VocabSize, E = model.DeepSeekConfig.EmbedDim;
        var prompt = Prompt(wm);
        var rng = new Random(3);
        var pairCache = model.CreateCache(128);
        var stepCache = model.CreateCache(128);
        var batchCache = model.CreateCache(128);
        var scratch = new float[V];
        model.Forward(prompt, pairCache, scratch);
        model.Forward(prompt, stepCache, scratch);
        model.Forward(prompt, batchCache, scratch);
        var pair = new float[2 * V];
        var pairHidden = new float[2 * E];
        var batched = new float[2 * V];
        var step = new float[V];
        var stepHidden = new float[E];
        bool anyBatchedDiff = false;
        for (int i = 0; i < 30; i++)
        {
            int[] t = [rng.Next(V), rng.Next(V)];
            model.ForwardHidden(t, pairCache, pair, pairHidden, rowOrder: true);
            model.Forward(t, batchCache, batched, allLogits: true);
            for (int r = 0; r < 2; r++)
            {
                model.ForwardHidden(t.AsSpan(r, 1), stepCache, step, stepHidden, rowOrder: true);
                Assert.True(step.AsSpan().SequenceEqual(pair.AsSpan(r * V, V)), $"pair {i} row {r}: logits differ");
                Assert.True(stepHidden.AsSpan().SequenceEqual(pairHidden.AsSpan(r * E, E)), $"pair {i} row {r}: hidden states differ");
                anyBatchedDiff |= !step.AsSpan().SequenceEqual(batched.AsSpan(r * V, V));
            }
        }
        Assert.Equal(stepCache.Length, pairCache.Length);
        for (int l = 0; l < model.DeepSeekConfig.NumLayers; l++)
            Assert.True(stepCache.K(l, 0, stepCache.Length).SequenceEqual(pairCache.K(l, 0, pairCache.Length)), $"layer {l}: cache rows differ");
        // control: two rows in one plain forward (float products in tinyBLAS order, chained attention sums) differ
        // somewhere from the one-row results, so the equality above is not trivially true
        Assert.True(anyBatchedDiff, "the batched order gave the one-row results too; the test shows nothing");
        output.WriteLine($"{type}: 30 pairs bit-identical; plain batched forward differs somewhere: {anyBatchedDiff}");
    }

    /// <summary>
    /// ForwardHidden without the row order is Forward (same logits, same cache, also across micro-batches), and its
    /// hidden rows are the final-normed states: the last one bit for bit what produced the logits, the others close
    /// to one-token steps.
    /// </summary>
    [Fact]
    public void ForwardHiddenKeepsForwardAndGivesEveryRowsHiddenState()
    {
        using var wm = Load(fx.GetWithMtp("v3-tiny", GgmlType.F32), batch: 16);
        var model = (DeepSeek2Model)wm.Model;
        int V = model.Config.VocabSize, E = model.DeepSeekConfig.EmbedDim;
        var prompt = Prompt(wm);                                       // 40 tokens: micro-batches 16 + 16 + 8
        var plainCache = model.CreateCache(64);
        var hidCache = model.CreateCache(64);
        var stepCache = model.CreateCache(64);
        var plain = new float[V];
        var withHidden = new float[V];
        var hidden = new float[prompt.Length * E];
        model.Forward(prompt, plainCache, plain);
        model.ForwardHidden(prompt, hidCache, withHidden, hidden, rowOrder: false);
        Assert.Equal(plain, withHidden);
        for (int l = 0; l < model.DeepSeekConfig.NumLayers; l++)
            Assert.True(plainCache.K(l, 0, prompt.Length).SequenceEqual(hidCache.K(l, 0, prompt.Length)), $"layer {l}: cache rows differ");

        var step = new float[V];
        var stepHidden = new float[E];
        double worst = 0;
        for (int p = 0; p < prompt.Length; p++)
        {
            model.ForwardHidden(prompt.AsSpan(p, 1), stepCache, step, stepHidden, rowOrder: true);
            worst = Math.Max(worst, Parity.MaxRelativeDiff(hidden.AsSpan(p * E, E), stepHidden));
        }
        output.WriteLine($"hidden rows vs one-token steps: max|diff|/max = {worst:E2}");
        Assert.True(worst < 1e-3, $"hidden rows differ from one-token steps by {worst:E2}");
        // the last row is what the logits came from: the output head (F32 here) applied to it in double gives them
        var f = wm.File;
        var head = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f.GetTensorSpan(f.GetTensor("output.weight")));
        var last = hidden.AsSpan((prompt.Length - 1) * E, E);
        var recomputed = new float[V];
        for (int v = 0; v < V; v++)
        {
            double sum = 0;
            for (int i = 0; i < E; i++) sum += (double)head[v * E + i] * last[i];
            recomputed[v] = (float)sum;
        }
        double headDiff = Parity.MaxRelativeDiff(plain, recomputed);
        Assert.True(headDiff < 1e-5, $"output head on the last hidden row: {headDiff:E2}");
    }

    /// <summary>MTP rows run in one call or one at a time give the same prediction and cache rows, bit for bit.</summary>
    [Fact]
    public void MtpRowsInOneCallOrOneByOneAreTheSame()
    {
        using var wm = Load(fx.GetWithMtp("v3-tiny", GgmlType.F32));
        var model = (DeepSeek2Model)wm.Model;
        int V = model.Config.VocabSize, E = model.DeepSeekConfig.EmbedDim;
        var prompt = Prompt(wm);
        int n = prompt.Length - 1;
        var cache = model.CreateCache(64);
        var hidden = new float[prompt.Length * E];
        model.ForwardHidden(prompt, cache, new float[V], hidden, rowOrder: false);
        var all = model.CreateMtpCache(64);
        var allLogits = new float[V];
        model.ForwardMtp(hidden.AsSpan(0, n * E), prompt.AsSpan(1, n), all, allLogits);
        Assert.Equal(n, all.Length);
        var one = model.CreateMtpCache(64);
        var oneLogits = new float[V];
        for (int i = 0; i < n; i++) model.ForwardMtp(hidden.AsSpan(i * E, E), prompt.AsSpan(i + 1, 1), one, oneLogits);
        Assert.Equal(allLogits, oneLogits);                            // every MTP row runs in the one-row order
        Assert.True(all.K(0, 0, n).SequenceEqual(one.K(0, 0, n)));
        // the prediction depends on the hidden state and the next token: another token gives other logits
        var other = model.CreateMtpCache(64);
        var otherLogits = new float[V];
        var tokens = prompt[1..].ToArray();
        tokens[^1] = (tokens[^1] + 1) % V;
        model.ForwardMtp(hidden.AsSpan(0, n * E), tokens, other, otherLogits);
        Assert.False(otherLogits.AsSpan().SequenceEqual(allLogits));
    }

    [Fact]
    public void MtpBadInputIsAClearError()
    {
        using var wm = Load(fx.GetWithMtp("v3-tiny", GgmlType.Q8_0));
        using var plain = Load(fx.Get("v3-tiny", GgmlType.Q8_0));
        var model = (DeepSeek2Model)wm.Model;
        int V = model.Config.VocabSize, E = model.DeepSeekConfig.EmbedDim;
        var h = new float[2 * E];
        var logits = new float[V];
        var mtp = model.CreateMtpCache(4);
        Assert.Throws<InvalidOperationException>(() => ((DeepSeek2Model)plain.Model).ForwardMtp(h, [1], mtp, logits));
        Assert.Throws<ArgumentException>(() => model.ForwardMtp(h, [1], model.CreateCache(4), logits));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.ForwardMtp(h, [V], mtp, logits));
        Assert.Throws<ArgumentException>(() => model.ForwardMtp(h.AsSpan(0, E - 1), [1], mtp, logits));
        Assert.Throws<ArgumentException>(() => model.ForwardMtp(h, [], mtp, logits));
        model.ForwardMtp(h, [1, 2], mtp, logits);
        model.ForwardMtp(h, [1, 2], mtp, logits);
        var full = Assert.Throws<InvalidOperationException>(() => model.ForwardMtp(h, [1], mtp, logits));
        Assert.Contains("context is full", full.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => model.ForwardHidden([1, 2], model.CreateCache(8), new float[2 * V], new float[E], rowOrder: true));
    }
}
