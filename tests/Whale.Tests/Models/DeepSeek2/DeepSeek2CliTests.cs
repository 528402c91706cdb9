using Whale.Tests.Cli;

namespace Whale.Tests.Models.DeepSeek2;

/// <summary><c>whale synth --arch deepseek2</c> and <c>whale inspect</c> on the result.</summary>
public class DeepSeek2CliTests
{
    [Fact]
    public void SynthLegacyKQuantMixThenInspectAndRun()
    {
        string path = Path.Combine(Path.GetTempPath(), $"whale-ds2-synth-{Guid.NewGuid():N}.gguf");
        try
        {
            var (code, _, stderr) = CliRunner.Run("", "synth", "--arch", "deepseek2", "--preset", "v2-lite-tiny", "--legacy-mla",
                "--type", "Q4_K_M", "--vocab-size", "1000", "--tokenizers", Path.Combine(TestPaths.Shared, "tokenizers"), "--output", path);
            Assert.True(code == 0, stderr);
            var (code2, stdout, stderr2) = CliRunner.Run("", "inspect", path);
            Assert.True(code2 == 0, stderr2);
            Assert.Contains("blk.0.attn_kv_b.weight", stdout, StringComparison.Ordinal);
            Assert.Contains("legacy attn_kv_b", stdout, StringComparison.Ordinal);
            Assert.Contains("KV cache (F16): 864 bytes per token", stdout, StringComparison.Ordinal);
            Assert.Contains("full multi-head K/V would take 1,920 bytes per token", stdout, StringComparison.Ordinal);
            var (code3, ids, stderr3) = CliRunner.Run("", "run", "--model", path, "--raw", "--prompt", "Hello world", "--temperature", "0", "--max-tokens", "5", "--print-ids");
            Assert.True(code3 == 0, stderr3);
            Assert.Equal(5, ids.Trim().Split(' ').Length);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
