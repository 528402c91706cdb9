using System.Text.Json;
using Whale.Gguf;
using Whale.Tests.TestData;

namespace Whale.Tests.Cli;

public class BenchCommandTests
{
    [Fact]
    public void JsonPrintsOneObjectPerTestWithMedianSpeed()
    {
        string path = SyntheticModels.Get("qwen2", GgmlType.Q8_0);
        var (code, stdout, stderr) = CliRunner.Run("bench", "--model", path, "-t", "1,2", "-p", "16", "-n", "4", "-r", "2", "--json", "--no-probe");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        var tests = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["pp16", "tg4", "pp16", "tg4"], tests.Select(t => t.GetProperty("test").GetString()));
        Assert.Equal([1, 1, 2, 2], tests.Select(t => t.GetProperty("threads").GetInt32()));
        Assert.All(tests, t => Assert.True(t.GetProperty("tokens_per_second").GetDouble() > 0));
        Assert.All(tests, t => Assert.Equal(2, t.GetProperty("samples").GetArrayLength()));
        Assert.True(tests[1].GetProperty("bytes_per_token").GetInt64() > 0);
    }

    [Fact]
    public void JsonComparesEachGenerationRunWithAProbeTakenNextToIt()
    {
        string path = SyntheticModels.Get("qwen2", GgmlType.Q8_0);
        var (code, stdout, stderr) = CliRunner.Run("bench", "--model", path, "-t", "1", "-p", "8", "-n", "4", "-r", "2", "--json");
        Assert.True(code == 0, stderr);
        var tests = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["pp8", "tg4"], tests.Select(t => t.GetProperty("test").GetString()));
        Assert.False(tests[0].TryGetProperty("fraction_of_probe", out _));
        var tg = tests[1];
        double probe = tg.GetProperty("probe_bytes_per_second").GetDouble();
        double fraction = tg.GetProperty("fraction_of_probe").GetDouble();
        double achieved = tg.GetProperty("achieved_bytes_per_second").GetDouble();
        Assert.True(probe > 1e8, $"probe {probe}");
        // the median of per-run ratios and the ratio of the medians agree up to how much runs and probes vary
        Assert.InRange(fraction, 0.5 * achieved / probe, 2 * achieved / probe);
    }

    [Fact]
    public void TablePrintsDepthTestsAndProbe()
    {
        string path = SyntheticModels.Get("llama", GgmlType.Q4_K);
        var (code, stdout, stderr) = CliRunner.Run("bench", "--model", path, "-t", "1", "-p", "8", "-n", "2", "-r", "1", "-d", "0,8");
        Assert.True(code == 0, stderr);
        Assert.Contains("| pp8 |", stdout, StringComparison.Ordinal);
        Assert.Contains("| tg2 @ d8 |", stdout, StringComparison.Ordinal);
        Assert.Contains("read-bandwidth probe", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ServePrintsARowPerEngineAndLevelWithMultiTurnAndPoissonWorkloads()
    {
        string path = SyntheticModels.Get("qwen2", GgmlType.Q8_0);
        var (code, stdout, stderr) = CliRunner.Run("bench", "serve", "--model", path, "-t", "1", "-c", "1,2", "--requests", "4", "-p", "16",
            "-n", "4", "--turns", "2", "--turn-tokens", "8", "--request-rate", "50", "--ctx", "64");
        Assert.True(code == 0, stderr);
        Assert.Contains("2 turns (+8 tokens each), Poisson arrivals 50/s", stdout, StringComparison.Ordinal);
        var rows = stdout.Split('\n').Where(l => l.StartsWith("| serial |", StringComparison.Ordinal) || l.StartsWith("| continuous |", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, rows.Count);
        Assert.All(rows, r => Assert.Equal("4", r.Split('|')[3].Trim()));

        var (tooLong, _, err) = CliRunner.Run("bench", "serve", "--model", path, "-p", "40", "-n", "8", "--turns", "3", "--ctx", "64");
        Assert.Equal(1, tooLong);
        Assert.Contains("--ctx", err, StringComparison.Ordinal);
    }

    [Fact]
    public void BadThreadListIsUsageError()
    {
        var (code, _, stderr) = CliRunner.Run("bench", "--model", "x.gguf", "-t", "1,zero");
        Assert.Equal(1, code);
        Assert.Contains("--threads", stderr, StringComparison.Ordinal);
    }
}
