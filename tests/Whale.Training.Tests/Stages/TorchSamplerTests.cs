using Whale.Training.Data;
using Whale.Training.Model;
using Whale.Training.Stages;
using static TorchSharp.torch;

namespace Whale.Training.Tests.Stages;

public class TorchSamplerTests
{
    private static int[][] Prompts()
    {
        var enc = new TaskEncoder(TestModels.Tokenizer);
        var gen = new TaskGenerator(4);
        var prompts = Enumerable.Range(0, 12).Select(_ => enc.Prompt(gen.Next(heldOut: false).Question)).ToList();
        return prompts.DistinctBy(p => p.Length).Take(3).ToArray();
    }

    [Fact]
    public void LeftPaddedBatchMatchesOnePromptAtATime()
    {
        var model = TestModels.Model(6);
        var prompts = Prompts();
        Assert.Equal(3, prompts.Length); // three different lengths, so two rows are left-padded
        // "EOS" = a greedy token of one prompt that another never produces, so some rows finish early and leave the
        // batch while others go on
        var free = prompts.Select(p => TorchSampler.Sample(model, p, 1, 12, 0f, -1, new Generator(1))[0]).ToList();
        int eos = free.SelectMany(a => a.Skip(1)).First(t => free.Any(b => !b.Contains(t)));
        var alone = prompts.Select(p => TorchSampler.Sample(model, p, 1, 12, 0f, eos, new Generator(1))[0]).ToList();
        Assert.Contains(alone, a => a.Length < 12 && a[^1] == eos);
        Assert.Contains(alone, a => a.Length == 12);
        var batched = TorchSampler.Sample(model, prompts, 2, 12, 0f, eos, new Generator(1));
        Assert.Equal(6, batched.Count);
        for (int p = 0; p < prompts.Length; p++)
        {
            Assert.Equal(alone[p], batched[p * 2]);
            Assert.Equal(alone[p], batched[p * 2 + 1]);
        }
    }

    [Fact]
    public void PaddingIsHiddenFromAttention()
    {
        // the last-position logits of a prompt behind 5 padding positions equal those of the prompt alone
        var model = TestModels.Model(7);
        model.eval();
        using var _ = no_grad();
        var prompt = Prompts()[0].Select(t => (long)t).ToArray();
        var alone = model.Forward(tensor(prompt).unsqueeze(0), [.. Enumerable.Range(0, model.Config.Layers).Select(_ => new LayerCache())]).Logits[0, -1];
        long[] paddedIds = [.. Enumerable.Repeat(1L, 5), .. prompt];
        var mask = tensor(paddedIds.Select((_, i) => i < 5).ToArray()).unsqueeze(0);
        var caches = Enumerable.Range(0, model.Config.Layers).Select(_ => new LayerCache { Padding = mask }).ToList();
        var padded = model.Forward(tensor(paddedIds).unsqueeze(0), caches).Logits[0, -1];
        float diff = (padded - alone).abs().max().item<float>();
        Assert.True(diff < 1e-4f * alone.abs().max().item<float>(), $"max diff {diff}");
        // without the mask the padding changes the result
        var unmasked = model.Forward(tensor(paddedIds).unsqueeze(0), [.. Enumerable.Range(0, model.Config.Layers).Select(_ => new LayerCache())]).Logits[0, -1];
        Assert.True((unmasked - alone).abs().max().item<float>() > 1e-3f);
    }

    [Fact]
    public void PackMasksExactlyTheCompletionPredictions()
    {
        var (seqs, mask) = GrpoTrainer.Pack([([0, 5, 6], [7, 1]), ([0, 5], [8, 9, 10, 1])], padId: 1);
        Assert.Equal(new long[] { 0, 5, 6, 7, 1, 1, 0, 5, 8, 9, 10, 1 }, seqs.data<long>().ToArray());
        // entry t predicts token t+1: row 0 predicts 7 and 1 at t = 2, 3; row 1 predicts 8, 9, 10, 1 at t = 1..4
        Assert.Equal(new float[] { 0, 0, 1, 1, 0, 0, 1, 1, 1, 1 }, mask.data<float>().ToArray());
        // the masked log-probabilities are those of the completion tokens
        var model = TestModels.Model(8);
        model.eval();
        using var _ = no_grad();
        var lp = GrpoTrainer.TokenLogProbs(model, seqs);
        var logits = model.Forward(tensor(new long[] { 0, 5 }).unsqueeze(0)).Logits[0, -1];
        Assert.Equal(nn.functional.log_softmax(logits, -1)[8].item<float>(), lp[1, 1].item<float>(), 4);
    }
}
