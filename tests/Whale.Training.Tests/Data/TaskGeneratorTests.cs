using System.Globalization;
using Whale.Training.Data;

namespace Whale.Training.Tests.Data;

public class TaskGeneratorTests
{
    [Fact]
    public void SplitsAreDisjointAndGeneratedCompletionsEarnFullReward()
    {
        var gen = new TaskGenerator(3);
        foreach (var kind in TaskGenerator.Kinds)
            for (int i = 0; i < 200; i++)
            {
                var train = gen.Next(kind, heldOut: false);
                Assert.False(TaskGenerator.IsHeldOut(kind, train.Operands));
                Assert.Equal(1f, Rewards.Accuracy(train, train.Completion));
                Assert.Equal(1f, Rewards.Format(train.Completion));
            }
        foreach (var p in TaskGenerator.HeldOutSample(20))
            Assert.True(TaskGenerator.IsHeldOut(p.Kind, p.Operands));
    }

    [Fact]
    public void ColumnTraceEndsWithTheResult()
    {
        var rng = new Random(9);
        for (int i = 0; i < 500; i++)
        {
            int a = rng.Next(10000), b = rng.Next(10000);
            Assert.EndsWith("so " + (a + b).ToString(CultureInfo.InvariantCulture), TaskGenerator.ColumnTrace(a, b, add: true), StringComparison.Ordinal);
            int hi = Math.Max(a, b), lo = Math.Min(a, b);
            Assert.EndsWith("so " + (hi - lo).ToString(CultureInfo.InvariantCulture), TaskGenerator.ColumnTrace(hi, lo, add: false), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void SameSeedSameProblems()
    {
        var a = new TaskGenerator(11);
        var b = new TaskGenerator(11);
        for (int i = 0; i < 50; i++) Assert.Equal(a.Next(heldOut: false).Completion, b.Next(heldOut: false).Completion);
    }

    [Fact]
    public void LargeHeldOutSampleIsDistinctAndMulRunsOutOfQuestions()
    {
        var sample = TaskGenerator.HeldOutSample(500);
        var byKind = sample.GroupBy(p => p.Kind).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(500, byKind[TaskKind.Add].Count);
        Assert.Equal(500, byKind[TaskKind.Sub].Count);
        Assert.Equal(500, byKind[TaskKind.Countdown].Count);
        // mul's held-out split is 82 operand pairs (of 98 x 8) in 3 phrasings: every distinct question, no more
        var mul = byKind[TaskKind.Mul];
        Assert.Equal(82, mul.Select(p => (p.Operands[0], p.Operands[1])).Distinct().Count());
        Assert.Equal(246, mul.Count);
        Assert.Equal(sample.Count, sample.Select(p => p.Question).Distinct().Count());
        Assert.All(sample, p => Assert.True(TaskGenerator.IsHeldOut(p.Kind, p.Operands)));
    }
}
