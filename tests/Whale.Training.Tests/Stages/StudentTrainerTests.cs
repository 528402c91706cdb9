using Whale.Training.Data;
using Whale.Training.Stages;
using static TorchSharp.torch;

namespace Whale.Training.Tests.Stages;

public class StudentTrainerTests
{
    [Fact]
    public void ExampleTrainsOnlyTheCompletion()
    {
        var enc = new TaskEncoder(TestModels.Tokenizer);
        var p = new TaskGenerator(1).Next(TaskKind.Mul, heldOut: false);
        var completion = enc.Completion(p.Completion);
        var e = Distiller.Example(enc, p.Question, completion);
        Assert.Equal(enc.Chat(p), e, new EncodedComparer()); // teacher ids in place of the reference completion: the SFT example
        Assert.Equal(enc.Prompt(p.Question).Length, e.PromptLength);
        Assert.All(e.Trained[..e.PromptLength], t => Assert.False(t));
        Assert.All(e.Trained[e.PromptLength..], Assert.True);
    }

    private sealed class EncodedComparer : IEqualityComparer<Encoded>
    {
        public bool Equals(Encoded? x, Encoded? y) =>
            x!.Ids.SequenceEqual(y!.Ids) && x.Trained.SequenceEqual(y.Trained) && x.PromptLength == y.PromptLength;

        public int GetHashCode(Encoded obj) => obj.PromptLength;
    }

    [Fact]
    public void LossDecreasesOnASmallDistillationBatch()
    {
        var model = TestModels.Student(1);
        var enc = new TaskEncoder(TestModels.Tokenizer);
        var gen = new TaskGenerator(2);
        var batch = Enumerable.Range(0, 8).Select(_ =>
        {
            var p = gen.Next(heldOut: false);
            return Distiller.Example(enc, p.Question, enc.Completion(p.Completion));
        }).ToList();
        using var log = new TrainingLog(TextWriter.Null, null);
        var trainer = new StudentTrainer(model, log);
        var (x, y) = Batch.Make(batch, 2);
        float before;
        using (no_grad()) before = trainer.Loss(x, y).item<float>();
        float tail = trainer.Train("test", 40, 3e-3f, () => batch, 2);
        float after;
        using (no_grad()) after = trainer.Loss(x, y).item<float>();
        Assert.True(after < 0.5f * before, $"loss {before} -> {after}");
        Assert.True(float.IsFinite(tail));
        // the loss sees exactly the completion positions (prompt and padding are ignored)
        Assert.Equal(batch.Sum(e => e.Trained.Count(t => t)), (int)(y != -100).sum().item<long>());
    }
}
