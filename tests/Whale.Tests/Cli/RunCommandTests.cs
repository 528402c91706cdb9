using Whale.Gguf;
using Whale.Tests.Models;
using Whale.Tests.TestData;

namespace Whale.Tests.Cli;

public class RunCommandTests
{
    [Fact]
    public void RawGreedyStoriesPrintsReferenceIds()
    {
        var (_, ids, _) = Stories260KTests.Expected();
        var (code, stdout, stderr) = CliRunner.Run("run", "--model", Stories260KTests.ModelPath, "--raw", "--prompt", "",
            "--temperature", "0", "--max-tokens", "200", "--print-ids", "--threads", "2");
        Assert.True(code == 0, stderr);
        Assert.Equal(string.Join(' ', ids), stdout.Trim());
    }

    [Fact]
    public void RawGreedyStoriesPrintsReferenceText()
    {
        var (_, _, text) = Stories260KTests.Expected();
        var (code, stdout, stderr) = CliRunner.Run("run", "--model", Stories260KTests.ModelPath, "--raw", "--prompt", "",
            "--temperature", "0", "--max-tokens", "200");
        Assert.True(code == 0, stderr);
        Assert.Equal(text + "\n", stdout);
        Assert.Contains("200 generated", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ChatPromptOnSyntheticDistillKeepsReasoningOffStdout()
    {
        string path = SyntheticModels.Get("qwen2", GgmlType.Q8_0);
        var (code, stdout, stderr) = CliRunner.Run("run", "--model", path, "--prompt", "Hello", "--temperature", "0", "--max-tokens", "16");
        Assert.True(code == 0, stderr);
        // The R1-Distill template opens <think>: everything until </think> is reasoning and goes to stderr.
        Assert.Contains("<think>", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("<think>", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void SameSeedSameOutput()
    {
        string path = SyntheticModels.Get("llama", GgmlType.Q4_0);
        string[] args = ["run", "--model", path, "--raw", "--prompt", "Once upon a time", "--temperature", "1", "--seed", "123", "--max-tokens", "24", "--print-ids"];
        var a = CliRunner.Run(args);
        var b = CliRunner.Run(args);
        var c = CliRunner.Run([.. args[..^3], "--max-tokens", "24", "--print-ids", "--seed", "124"]);
        Assert.Equal(0, a.Code);
        Assert.Equal(a.Out, b.Out);
        Assert.NotEqual(a.Out, c.Out);
    }

    [Fact]
    public void MissingFileIsOneLineErrorWithExitCode1()
    {
        var (code, stdout, stderr) = CliRunner.Run("run", "--model", "/nonexistent/model.gguf", "--prompt", "hi");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("model.gguf", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownOptionIsUsageError()
    {
        var (code, _, _) = CliRunner.Run("run", "--no-such-option");
        Assert.Equal(2, code);
    }
}
