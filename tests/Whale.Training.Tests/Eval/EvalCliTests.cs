namespace Whale.Training.Tests.Eval;

/// <summary><c>whale train eval</c> with several samples per question and a paired comparison of two committed files.</summary>
public class EvalCliTests
{
    private static string Sft() => Path.Combine(TestModels.RepoRoot(), "models", "stages", "whale-r1-tiny-sft.gguf");

    [Fact]
    public void ComparesTwoFilesOnTheSameSampledQuestions()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = TrainingCli.Run(["eval", "--model", Sft(), "--compare", TestModels.TeacherPath(), "--per-task", "2", "--temperature", "0.6",
            "--samples", "2", "--max-tokens", "120"], stdout, stderr);
        Assert.True(rc == 0, stderr.ToString());
        string log = stdout.ToString();
        Assert.Contains("whale-r1-tiny-sft.gguf sampled T=0.6, 2 per question", log, StringComparison.Ordinal);
        Assert.Contains("| whale-r1-tiny-sft sampled | all | 8 | 2 |", log, StringComparison.Ordinal);
        Assert.Contains("| whale-r1-tiny sampled | all | 8 | 2 |", log, StringComparison.Ordinal);
        Assert.Contains("paired: B = whale-r1-tiny.gguf minus A = whale-r1-tiny-sft.gguf", log, StringComparison.Ordinal);
        var all = log.Split('\n').Single(l => l.StartsWith("| all | 8 |", StringComparison.Ordinal));
        Assert.EndsWith("| - |", all.TrimEnd(), StringComparison.Ordinal); // mean of 2 samples: no McNemar
    }

    [Fact]
    public void FileComparedWithItselfDiffersByNothing()
    {
        var stdout = new StringWriter();
        int rc = TrainingCli.Run(["eval", "--model", Sft(), "--compare", Sft(), "--per-task", "2", "--max-tokens", "120"], stdout, new StringWriter());
        Assert.Equal(0, rc);
        Assert.Contains("| 0.0 | [0.0, 0.0] | 0 | 0 | 1.0000 |", stdout.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--samples", "3")]              // several samples need a temperature
    [InlineData("--per-task", "0")]
    [InlineData("--compare", "/nonexistent/x.gguf")]
    public void BadArgumentsAreClearErrors(string key, string value)
    {
        var stderr = new StringWriter();
        int rc = TrainingCli.Run(["eval", "--model", Sft(), "--per-task", "1", "--max-tokens", "40", key, value], new StringWriter(), stderr);
        Assert.Equal(1, rc);
        Assert.StartsWith("error: ", stderr.ToString(), StringComparison.Ordinal);
    }
}
