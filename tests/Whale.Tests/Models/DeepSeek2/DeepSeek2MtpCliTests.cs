using Whale.Tests.Cli;

namespace Whale.Tests.Models.DeepSeek2;

/// <summary><c>whale synth --mtp</c>, <c>whale run --mtp</c> and <c>whale bench --mtp</c>.</summary>
public class DeepSeek2MtpCliTests
{
    [Fact]
    public void SynthWithMtpThenRunAndBenchWithAndWithoutSpeculation()
    {
        string path = Path.Combine(Path.GetTempPath(), $"whale-ds2-mtp-{Guid.NewGuid():N}.gguf");
        string plainPath = Path.Combine(Path.GetTempPath(), $"whale-ds2-nomtp-{Guid.NewGuid():N}.gguf");
        try
        {
            string tokenizers = Path.Combine(TestPaths.Shared, "tokenizers");
            var (code, _, stderr) = CliRunner.Run("synth", "--arch", "deepseek2", "--preset", "v3-tiny", "--mtp", "--type", "Q8_0",
                "--vocab-size", "1000", "--tokenizers", tokenizers, "--output", path);
            Assert.True(code == 0, stderr);
            var (codeI, info, stderrI) = CliRunner.Run("inspect", path);
            Assert.True(codeI == 0, stderrI);
            Assert.Contains("blk.3.nextn.eh_proj.weight", info, StringComparison.Ordinal);

            string[] run = ["run", "--model", path, "--raw", "--prompt", "Hello world", "--temperature", "0", "--max-tokens", "24", "--print-ids"];
            var (c1, plainIds, e1) = CliRunner.Run(run);
            var (c2, mtpIds, e2) = CliRunner.Run([.. run, "--mtp"]);
            Assert.True(c1 == 0, e1);
            Assert.True(c2 == 0, e2);
            Assert.Equal(24, plainIds.Trim().Split(' ').Length);
            Assert.Equal(plainIds, mtpIds);
            Assert.Contains("drafts accepted", e2, StringComparison.Ordinal);
            Assert.DoesNotContain("drafts accepted", e1, StringComparison.Ordinal);
            var (c3, _, e3) = CliRunner.Run([.. run, "--mtp", "--no-mtp"]);
            Assert.NotEqual(0, c3);
            Assert.Contains("exclude each other", e3, StringComparison.Ordinal);

            var (c4, table, e4) = CliRunner.Run("bench", "--model", path, "--mtp", "-n", "12", "-r", "1", "-t", "1");
            Assert.True(c4 == 0, e4);
            Assert.Contains("| tg12 (prompt ", table, StringComparison.Ordinal);
            Assert.Contains("| yes |", table, StringComparison.Ordinal);

            var (c5, _, _) = CliRunner.Run("synth", "--arch", "deepseek2", "--preset", "v3-tiny", "--type", "Q8_0",
                "--vocab-size", "1000", "--tokenizers", tokenizers, "--output", plainPath);
            Assert.Equal(0, c5);
            var (c6, _, e6) = CliRunner.Run("run", "--model", plainPath, "--raw", "--prompt", "Hi", "--max-tokens", "2", "--mtp");
            Assert.NotEqual(0, c6);
            Assert.Contains("has no MTP block", e6, StringComparison.Ordinal);
            var (c7, _, e7) = CliRunner.Run("bench", "--model", plainPath, "--mtp", "-n", "4", "-r", "1");
            Assert.NotEqual(0, c7);
            Assert.Contains("has no MTP block", e7, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
            File.Delete(plainPath);
        }
    }
}
