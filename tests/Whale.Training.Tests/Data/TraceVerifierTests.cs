using Whale.Training.Data;

namespace Whale.Training.Tests.Data;

public class TraceVerifierTests
{
    [Fact]
    public void EveryGeneratedTraceVerifies()
    {
        var gen = new TaskGenerator(31);
        foreach (var kind in TaskGenerator.Kinds)
            for (int i = 0; i < 300; i++)
            {
                var p = gen.Next(kind, heldOut: i % 2 == 0);
                Assert.True(TraceVerifier.Verify(p, p.Trace), $"{p.Question}\n{p.Trace}");
                Assert.Equal(1f, Rewards.Reasoning(p, p.Completion));
            }
    }

    private static readonly Problem Add = new(TaskKind.Add, [48, 37], 85, "What is 48 + 37?", "", "");
    private static readonly Problem Sub = new(TaskKind.Sub, [52, 17], 35, "What is 52 - 17?", "", "");
    private static readonly Problem Mul = new(TaskKind.Mul, [46, 9], 414, "What is 46 * 9?", "", "");
    private static readonly Problem Count = new(TaskKind.Countdown, [2, 6, 4], 22, "Reach 22 using 2, 6, 4.", "", "");

    [Theory]
    [InlineData("48+37\n8+7+0=5 c1\n4+3+1=8 c0\nso 85", true)]
    [InlineData("48+37\n8+7+0=5 c1\n4+3+0=7 c0\nso 85", false)]   // carry dropped (and the result no longer follows)
    [InlineData("48+37\n8+7+0=6 c1\n4+3+1=8 c0\nso 85", false)]   // a false column, right answer
    [InlineData("48+37\n8+7+0=5 c1\n4+3+1=8 c0\nso 86", false)]
    [InlineData("48+38\n8+8+0=6 c1\n4+3+1=8 c0\nso 86", false)]   // another problem
    [InlineData("8+7+0=5 c1\n4+3+1=8 c0\nso 85", false)]          // no header
    public void AddColumns(string working, bool ok) => Assert.Equal(ok, TraceVerifier.Verify(Add, working));

    [Theory]
    [InlineData("52-17\n2-7-0=5 b1\n5-1-1=3 b0\nso 35", true)]
    [InlineData("52-17\n2-7-0=5 b0\n5-1-0=4 b0\nso 45", false)]
    public void SubColumns(string working, bool ok) => Assert.Equal(ok, TraceVerifier.Verify(Sub, working));

    [Theory]
    [InlineData("40*9=360\n6*9=54\n360+54=414", true)]
    [InlineData("46*9=414", true)]                                  // another true split
    [InlineData("40*9=360\n6*9=54\n360+54=474", false)]            // the held-out error the SFT model makes
    [InlineData("40*9=360\n6*9=56\n360+54=414", false)]            // a false product line, right total
    [InlineData("40*9=360\n6*9=54", false)]                         // stops before the product
    [InlineData("40*9=360\nso 414", false)]
    public void MulSteps(string working, bool ok) => Assert.Equal(ok, TraceVerifier.Verify(Mul, working));

    [Theory]
    [InlineData("last 2: need 20 24 11\n6 4: 10 2 -2 24\nfound (6*4)-2", true)]
    [InlineData("last 4: need 18 26 x\n2 6: 8 -4 4 12\nlast 2: need 20 24 11\n6 4: 10 2 -2 24\nfound (6*4)-2", true)] // another order
    [InlineData("last 2: need 20 24 6\n6 4: 10 2 -2 24\nfound (6*4)-2", false)]  // a false need, right answer ("lucky")
    [InlineData("last 2: need 20 24 11\n6 4: 10 2 -2 25\nfound (6*4)-2", false)] // a false candidate
    [InlineData("last 2: need 20 24 11\n6 5: 11 1 -1 30\nfound (6*4)-2", false)] // numbers not given
    [InlineData("last 2: need 20 24 11\n6 4: 10 2 -2 24\nfound (6*4)+2", false)] // wrong expression
    [InlineData("last 2: need 20 24 11\n6 4: 10 2 -2 24", false)]                // never found
    [InlineData("last 2: need 20 24 11\nfound (6*4)-2", false)]                  // need without its pair line
    [InlineData("found (6*4)-2\nlast 2: need 20 24 11", false)]                  // found is not last
    public void CountdownSearch(string working, bool ok) => Assert.Equal(ok, TraceVerifier.Verify(Count, working));

    [Fact]
    public void ReasoningRewardReadsTheWorkingBeforeThink()
    {
        Assert.Equal(1f, Rewards.Reasoning(Mul, "46*9=414\n</think>\n\nThe answer is \\boxed{414}."));
        Assert.Equal(0f, Rewards.Reasoning(Mul, "46*9=414 The answer is \\boxed{414}."));   // never closed
        Assert.Equal(0f, Rewards.Reasoning(Mul, "</think>\n\nThe answer is \\boxed{414}."));   // empty
    }
}
