using Whale.Engine;
using Whale.Models;
using Whale.Training.Data;
using Whale.Training.Export;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Whale.Training.Tests.Export;

/// <summary>
/// The MTP head as TorchSharp trains it (<c>DeepSeekV3Model.ForwardMtp</c>) against Whale's draft step on the exported
/// F32 file: Whale's main hidden states (ForwardHidden) and ForwardMtp give the same logits for token i+2.
/// </summary>
public sealed class MtpParityTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("whale-train-mtp").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// Random weights (non-zero routing bias, group routing); MTP logits at several positions of a conversation.
    /// Whale's F16 MLA caches (main and MTP) are the difference, as in the main-model parity test.
    /// </summary>
    [Fact]
    public void TorchMtpLogitsMatchWhale()
    {
        var model = TestModels.Model(6);
        using (no_grad())
            foreach (var moe in model.MoeLayers()) moe.exp_probs_b.copy_(randn(moe.exp_probs_b.shape) * 0.05f);
        string path = Path.Combine(_dir, "mtp.gguf");
        GgufExporter.Export(model, TestModels.Vocab, path);
        var enc = new TaskEncoder(TestModels.Tokenizer);
        var ids = enc.Chat(new TaskGenerator(9).Next(TaskKind.Add, heldOut: false)).Ids;
        model.eval();
        Tensor mtpLogits;
        using (no_grad())
        {
            var input = tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);
            var (_, hidden) = model.Forward(input);
            mtpLogits = model.ForwardMtp(input, hidden)[0];                 // [T-1, V]: row i predicts token i+2
        }

        using var whale = WhaleModel.Load(path, new ModelOptions { Threads = 2 });
        var m = Assert.IsAssignableFrom<IMtpModel>(whale.Model);
        Assert.True(m.HasMtp);
        int V = whale.Config.VocabSize, E = whale.Config.EmbedDim, T = ids.Length;
        var cache = m.CreateCache(256);
        var ourHidden = new float[T * E];
        m.ForwardHidden(ids, cache, new float[V], ourHidden, rowOrder: false);
        double worst = 0;
        var ours = new float[V];
        foreach (int i in new[] { 0, 5, T / 2, T - 2 })
        {
            var mtpCache = m.CreateMtpCache(256);
            m.ForwardMtp(ourHidden.AsSpan(0, (i + 1) * E), ids.AsSpan(1, i + 1), mtpCache, ours);
            var theirs = mtpLogits[i].data<float>().ToArray();
            double maxAbs = theirs.Max(Math.Abs), maxDiff = 0;
            for (int v = 0; v < V; v++) maxDiff = Math.Max(maxDiff, Math.Abs(ours[v] - theirs[v]));
            worst = Math.Max(worst, maxDiff / maxAbs);
            Assert.Equal(Array.IndexOf(theirs, theirs.Max()), Array.IndexOf(ours, ours.Max()));
        }
        output.WriteLine($"{T} tokens: MTP logits worst max|diff|/max|logit| = {worst:E2}");
        Assert.True(worst < 1e-3, $"max|diff|/max|logit| = {worst:E2}");
    }
}
