using Whale.Gguf;
using Whale.Tests.TestData;

namespace Whale.Tests.Cli;

public class ChatCommandTests
{
    [Fact]
    public void TwoTurnsThenExit()
    {
        string path = SyntheticModels.Get("qwen2", GgmlType.Q8_0);
        var (code, stdout, stderr) = CliRunner.RunWithInput("Hello\nWhat is 2+2?\n/exit\n", "chat", "--model", path, "--temperature", "0", "--max-tokens", "8");
        Assert.True(code == 0, stderr);
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Count(stderr, "(^|\n)> "));   // prompts: two turns and the /exit
        Assert.Equal(2, stdout.Split('\n', StringSplitOptions.None).Length - 1);  // one answer line per turn
    }
}
