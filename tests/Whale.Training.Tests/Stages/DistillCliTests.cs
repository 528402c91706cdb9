using Whale.Engine;
using Whale.Gguf;

namespace Whale.Training.Tests.Stages;

/// <summary><c>whale train distill</c> at smoke size with the committed teacher: rejection sampling, student SFT, qwen2 export, evaluation.</summary>
public sealed class DistillCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("whale-distill-smoke").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void DistillVerbRunsEndToEndAndReusesTraces()
    {
        string outPath = Path.Combine(_dir, "students", "student.gguf");
        string[] args = ["distill", "--recipe", "smoke", "--teacher", TestModels.TeacherPath(), "--work", _dir, "--out", outPath, "--eval-per-task", "1"];
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = TrainingCli.Run(args, stdout, stderr);
        Assert.True(rc == 0, stderr.ToString());
        string log = stdout.ToString();
        foreach (var line in new[] { "rejection sampling kept", "student qwen2", "distill done", "| all |" })
            Assert.Contains(line, log, StringComparison.Ordinal);
        using (var f = GgufFile.Open(outPath)) Assert.Equal("qwen2", f.Architecture);
        using (var m = WhaleModel.Load(outPath, new ModelOptions { Threads = 1 })) Assert.True(m.ChatTemplate.GenerationPromptOpensThinking);
        string traces = Path.Combine(_dir, "distill-traces.tsv");
        var lines = File.ReadAllLines(traces);
        Assert.StartsWith("# kind/question/ids; teacher ", lines[0], StringComparison.Ordinal);
        Assert.True(lines.Length > 1, "the committed teacher passed on none of the smoke prompts");
        foreach (var row in lines.Skip(1))
        {
            var cols = row.Split('\t');
            Assert.Equal(3, cols.Length);
            Assert.True(Enum.TryParse<Whale.Training.Data.TaskKind>(cols[0], out _), cols[0]);
            Assert.Equal("1", cols[2].Split(',')[^1]); // kept completions end with EOS (id 1)
        }

        var stdout2 = new StringWriter();
        Assert.Equal(0, TrainingCli.Run(args, stdout2, stderr));
        Assert.Contains($"reusing {lines.Length - 1} teacher completions", stdout2.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void MissingTeacherIsAClearError()
    {
        var stderr = new StringWriter();
        int rc = TrainingCli.Run(["distill", "--recipe", "smoke", "--teacher", Path.Combine(_dir, "nope.gguf"), "--work", _dir], new StringWriter(), stderr);
        Assert.Equal(1, rc);
        Assert.Contains("nope.gguf not found", stderr.ToString(), StringComparison.Ordinal);
    }
}
