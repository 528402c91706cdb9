using Whale.Gguf;

namespace Whale.Training.Tests.Stages;

/// <summary>The whole recipe (vocabulary, pretrain, SFT, GRPO, export, distillation, evaluation with Whale) at smoke size: what CI runs.</summary>
public sealed class SmokeRecipeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("whale-train-smoke").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void SmokeRecipeRunsEndToEnd()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        string outPath = Path.Combine(_dir, "smoke.gguf");
        int rc = TrainingCli.Run(["train", "--recipe", "smoke", "--work", _dir, "--out", outPath, "--eval-per-task", "1"], stdout, stderr);
        Assert.True(rc == 0, stderr.ToString());
        string log = stdout.ToString();
        foreach (var stage in new[] { "pretrain done", "sft done", "grpo done", "exported", "distill done", "| all |" })
            Assert.Contains(stage, log, StringComparison.Ordinal);
        using var f = GgufFile.Open(outPath);
        Assert.Equal("deepseek2", f.Architecture);
        Assert.True(File.Exists(Path.Combine(_dir, "sft.gguf")));
        Assert.True(File.Exists(Path.Combine(_dir, "grpo.pt")));
        using var student = GgufFile.Open(Path.Combine(_dir, "whale-r1-smoke-distill-qwen2.gguf"));
        Assert.Equal("qwen2", student.Architecture);
    }
}
