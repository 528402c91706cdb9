namespace Whale.Tests.Cli;

public class InspectAndSynthCommandTests
{
    [Fact]
    public void InspectShowsMetadataAndTensors()
    {
        var (code, stdout, stderr) = CliRunner.Run("inspect", Models.Stories260KTests.ModelPath);
        Assert.True(code == 0, stderr);
        Assert.Contains("general.architecture = \"llama\"", stdout, StringComparison.Ordinal);
        Assert.Contains("token_embd.weight", stdout, StringComparison.Ordinal);
        Assert.Contains("[64, 512]", stdout, StringComparison.Ordinal);
        Assert.Contains("KV cache (F16): 640 bytes per token", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void SynthWritesALoadableModel()
    {
        string path = Path.Combine(Path.GetTempPath(), $"whale-synth-{Guid.NewGuid():N}.gguf");
        try
        {
            var (code, _, stderr) = CliRunner.Run("synth", "--arch", "llama", "--preset", "tiny", "--type", "Q4_K",
                "--vocab-size", "1000", "--tokenizers", Path.Combine(TestPaths.Shared, "tokenizers"), "--output", path);
            Assert.True(code == 0, stderr);
            var (code2, stdout, stderr2) = CliRunner.Run("run", "--model", path, "--raw", "--prompt", "Hello world", "--temperature", "0", "--max-tokens", "5", "--print-ids");
            Assert.True(code2 == 0, stderr2);
            Assert.Equal(5, stdout.Trim().Split(' ').Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void SynthRejectsUnknownType()
    {
        var (code, _, stderr) = CliRunner.Run("synth", "--type", "Q9_9", "--output", "/tmp/never.gguf");
        Assert.Equal(1, code);
        Assert.Contains("Q9_9", stderr, StringComparison.Ordinal);
    }
}
