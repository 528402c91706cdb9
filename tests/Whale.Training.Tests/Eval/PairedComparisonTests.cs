using Whale.Training.Data;
using Whale.Training.Eval;

namespace Whale.Training.Tests.Eval;

/// <summary>The paired statistics of <c>whale train eval --compare</c> on hand-made scores.</summary>
public class PairedComparisonTests
{
    [Fact]
    public void McNemarExactOnHandMadeCounts()
    {
        // 10 vs 2 discordant: 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 2 * 79 / 4096
        Assert.Equal(158.0 / 4096, PairedComparison.McNemarExact(10, 2), 12);
        Assert.Equal(158.0 / 4096, PairedComparison.McNemarExact(2, 10), 12);
        Assert.Equal(2.0 / 64, PairedComparison.McNemarExact(0, 6), 12);
        Assert.Equal(1.0, PairedComparison.McNemarExact(0, 0));
        Assert.Equal(1.0, PairedComparison.McNemarExact(5, 5));
        // large counts stay finite: 600 vs 400 is far from even
        Assert.InRange(PairedComparison.McNemarExact(400, 600), 1e-12, 1e-8);
        Assert.Throws<ArgumentOutOfRangeException>(() => PairedComparison.McNemarExact(-1, 3));
    }

    [Fact]
    public void PercentileInterpolatesBetweenRanks()
    {
        double[] x = [1, 2, 3, 4, 5];
        Assert.Equal(3, PairedComparison.Percentile(x, 0.5), 12);
        Assert.Equal(2, PairedComparison.Percentile(x, 0.25), 12);
        Assert.Equal(1.4, PairedComparison.Percentile(x, 0.1), 12);
        Assert.Equal(5, PairedComparison.Percentile(x, 1), 12);
    }

    [Fact]
    public void IdenticalScoresGiveZeroWithAZeroWidthInterval()
    {
        double[] a = [1, 0, 1, 1, 0, 0.5, 0.25];
        var r = PairedComparison.Compare("x", a, a);
        Assert.Equal(0, r.Difference);
        Assert.Equal((0.0, 0.0), (r.Low, r.High));
        Assert.False(r.Significant);
        Assert.Equal((0, 0), (r.BetterA, r.BetterB));
        Assert.True(double.IsNaN(r.McNemarP)); // 0.5 and 0.25 are means over samples, not 0/1
    }

    [Fact]
    public void ConstantShiftIsExactAndSignificant()
    {
        double[] a = [0, 0.25, 0.5, 0.5, 0.75];
        double[] b = a.Select(x => x + 0.25).ToArray();
        var r = PairedComparison.Compare("x", a, b);
        Assert.Equal(0.25, r.Difference, 12);
        Assert.Equal(0.25, r.Low, 12);
        Assert.Equal(0.25, r.High, 12);
        Assert.True(r.Significant);
        Assert.Equal((0, 5), (r.BetterA, r.BetterB));
    }

    [Fact]
    public void BinaryScoresMatchTheNormalApproximation()
    {
        // 100 questions: B alone right on 10, A alone right on 2, both right on 60, both wrong on 28. Difference 0.08;
        // the per-question differences have variance 0.12 - 0.08^2 = 0.1136, so a normal interval is
        // 0.08 +- 1.96 * sqrt(0.1136 / 100) = [0.014, 0.146].
        var a = new List<double>();
        var b = new List<double>();
        void Add(int n, double x, double y) { for (int i = 0; i < n; i++) { a.Add(x); b.Add(y); } }
        Add(10, 0, 1);
        Add(2, 1, 0);
        Add(60, 1, 1);
        Add(28, 0, 0);
        var r = PairedComparison.Compare("x", a, b);
        Assert.Equal(0.62, r.MeanA, 12);
        Assert.Equal(0.70, r.MeanB, 12);
        Assert.Equal(0.08, r.Difference, 12);
        Assert.InRange(r.Low, 0.005, 0.025);
        Assert.InRange(r.High, 0.135, 0.155);
        Assert.True(r.Significant);
        Assert.Equal((2, 10), (r.BetterA, r.BetterB));
        Assert.Equal(158.0 / 4096, r.McNemarP, 12);
        // the same interval from the same seed; another seed moves it only slightly
        Assert.Equal(r, PairedComparison.Compare("x", a, b));
        var other = PairedComparison.Compare("x", a, b, seed: 7);
        Assert.InRange(other.Low, r.Low - 0.01, r.Low + 0.01);
    }

    [Fact]
    public void BalancedDisagreementIsNotSignificant()
    {
        double[] a = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0];
        double[] b = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0];
        var r = PairedComparison.Compare("x", a, b);
        Assert.Equal(0, r.Difference, 12);
        Assert.True(r.Low < 0 && r.High > 0, $"[{r.Low}, {r.High}]");
        Assert.False(r.Significant);
        Assert.Equal(1.0, r.McNemarP);
    }

    [Fact]
    public void StratifiedResamplingKeepsEachTasksSize()
    {
        // stratum 0: B always 1 better (10 questions); stratum 1: no difference (30). Resampling within strata always
        // draws 10 + 30 questions, so the pooled difference is exactly 10/40; pooled resampling lets it vary.
        var d = Enumerable.Repeat(1.0, 10).Concat(Enumerable.Repeat(0.0, 30)).ToArray();
        var a = new double[40];
        var strata = Enumerable.Repeat(0, 10).Concat(Enumerable.Repeat(1, 30)).ToArray();
        var stratified = PairedComparison.Compare("all", a, d, strata);
        Assert.Equal(0.25, stratified.Low, 12);
        Assert.Equal(0.25, stratified.High, 12);
        var pooled = PairedComparison.Compare("all", a, d);
        Assert.True(pooled.High - pooled.Low > 0.1, $"[{pooled.Low}, {pooled.High}]");
    }

    [Fact]
    public void ByTaskGivesOneRowPerTaskAndAPooledRow()
    {
        QuestionScore Q(TaskKind k, int c) => new(k, 4, c, 4);
        QuestionScore[] a = [Q(TaskKind.Add, 4), Q(TaskKind.Add, 4), Q(TaskKind.Mul, 1), Q(TaskKind.Mul, 2), Q(TaskKind.Mul, 0)];
        QuestionScore[] b = [Q(TaskKind.Add, 4), Q(TaskKind.Add, 3), Q(TaskKind.Mul, 3), Q(TaskKind.Mul, 2), Q(TaskKind.Mul, 4)];
        var rows = PairedComparison.ByTask(a, b);
        Assert.Equal(["add", "mul", "all"], rows.Select(r => r.Label));
        Assert.Equal(-0.125, rows[0].Difference, 12);  // (0 - 0.25) / 2
        Assert.Equal(0.5, rows[1].Difference, 12);     // (0.5 + 0 + 1) / 3
        Assert.Equal((4.0 - 2.75) / 5, rows[2].Difference, 12); // B sums to 4 over 5 questions, A to 2.75
        Assert.Equal(5, rows[2].Questions);
        Assert.Equal((1, 2), (rows[2].BetterA, rows[2].BetterB));
        string table = PairedComparison.Table("sft.gguf", "grpo.gguf", rows);
        Assert.Contains("| mul | 3 | 25.0 % | 75.0 % | +50.0 |", table, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => PairedComparison.ByTask(a, b[..4]));
        Assert.Throws<ArgumentException>(() => PairedComparison.ByTask(a, [.. b[..4], Q(TaskKind.Add, 1)]));
    }

    [Fact]
    public void SummarizeCountsCompletionsPerTask()
    {
        QuestionScore[] q = [new(TaskKind.Mul, 4, 3, 4), new(TaskKind.Add, 4, 4, 4), new(TaskKind.Mul, 4, 1, 3)];
        var s = Evaluator.Summarize(q);
        Assert.Equal([TaskKind.Add, TaskKind.Mul], s.Select(x => x.Kind));
        Assert.Equal(new TaskScore(TaskKind.Mul, 8, 4, 7) { Samples = 4 }, s[1]);
        Assert.Equal(0.5, s[1].Accuracy);
        Assert.Contains("| m | mul | 2 | 4 | 50.0 % | 87.5 % |", Evaluator.Table("m", s), StringComparison.Ordinal);
    }
}
