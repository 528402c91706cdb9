using Whale.Training.Data;

namespace Whale.Training.Tests.Data;

public class RewardsTests
{
    private static readonly Problem Add = new(TaskKind.Add, [48, 37], 85, "What is 48 + 37?", "", "");
    private static readonly Problem Count = new(TaskKind.Countdown, [3, 5, 7], 22, "Reach 22", "", "");

    [Theory]
    [InlineData("8+7+0=5 c1\n4+3+1=8 c0\nso 85\n</think>\n\nThe answer is \\boxed{85}.", 1f, 1f)]
    [InlineData("so 86\n</think>\n\nThe answer is \\boxed{86}.", 0f, 1f)]                  // wrong, well formed
    [InlineData("so 85\n</think>\n\nThe answer is 85.", 0f, 0f)]                              // no box
    [InlineData("so 85 The answer is \\boxed{85}.", 0f, 0f)]                                  // reasoning never closed
    [InlineData("</think>\n\nThe answer is \\boxed{85}.", 1f, 0f)]                             // empty reasoning
    [InlineData("a\n</think>\n\\boxed{85} or \\boxed{86}", 0f, 0f)]                            // two boxes
    [InlineData("a\n</think>\nb\n</think>\n\\boxed{85}", 1f, 0f)]                              // closed twice
    [InlineData("x\n</think>\n\nThe answer is \\boxed{ 85 }.", 1f, 1f)]
    public void ArithmeticAccuracyAndFormat(string completion, float accuracy, float format)
    {
        Assert.Equal(accuracy, Rewards.Accuracy(Add, completion));
        Assert.Equal(format, Rewards.Format(completion));
        Assert.Equal(accuracy + 0.2f * format, Rewards.Total(Add, completion), 5);
    }

    [Theory]
    [InlineData("(3*5)+7", true)]
    [InlineData("7+3*5", true)]
    [InlineData("(5*3)+7", true)]
    [InlineData("(3*5)+8", false)]      // a number that was not given
    [InlineData("(3*5)+7+7", false)]    // a number used twice
    [InlineData("3*5", false)]          // not all numbers, wrong value
    [InlineData("(3*5+7", false)]       // malformed
    [InlineData("22", false)]           // the target itself
    public void CountdownChecksNumbersAndValue(string expr, bool ok)
    {
        string completion = "search\n</think>\n\nThe answer is \\boxed{" + expr + "}.";
        Assert.Equal(ok ? 1f : 0f, Rewards.Accuracy(Count, completion));
        Assert.Equal(1f, Rewards.Format(completion));
    }
}
