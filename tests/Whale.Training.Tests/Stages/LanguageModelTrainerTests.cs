using Whale.Training.Data;
using Whale.Training.Stages;
using static TorchSharp.torch;

namespace Whale.Training.Tests.Stages;

public class LanguageModelTrainerTests
{
    [Fact]
    public void LossDecreasesOnASmallBatchAndBiasBalances()
    {
        var model = TestModels.Model(1);
        var enc = new TaskEncoder(TestModels.Tokenizer);
        var gen = new TaskGenerator(2);
        var batch = Enumerable.Range(0, 8).Select(_ => enc.Chat(gen.Next(heldOut: false))).ToList();
        var recipe = Recipe.Get("smoke");
        using var log = new TrainingLog(TextWriter.Null, null);
        var trainer = new LanguageModelTrainer(model, recipe, log);
        var (x, y) = Batch.Make(batch, 2);
        float before;
        using (no_grad()) before = trainer.Loss(x, y).Main;
        trainer.Train("test", 40, 3e-3f, () => batch, 2);
        float after;
        using (no_grad()) after = trainer.Loss(x, y).Main;
        Assert.True(after < 0.6f * before, $"loss {before} -> {after}");
        // the routing bias moved (auxiliary-loss-free balancing ran) and stays small
        foreach (var moe in model.MoeLayers())
        {
            var b = moe.exp_probs_b.abs().max().item<float>();
            Assert.InRange(b, 1e-4f, 40 * recipe.BiasGamma + 1e-6f);
        }
    }

    [Fact]
    public void BatchMasksPromptAndPadding()
    {
        var e1 = new Encoded([0, 5, 6, 7], [false, false, true, true], 2);
        var e2 = new Encoded([0, 8], [false, true], 1);
        var (x, y) = Batch.Make([e1, e2], 2);
        Assert.Equal(new long[] { 0, 5, 6, 0, 2, 2 }, x.data<long>().ToArray());
        Assert.Equal(new long[] { -100, 6, 7, 8, -100, -100 }, y.data<long>().ToArray());
    }
}
