using Whale.Engine;

namespace Whale.Tests.Engine;

public class ReasoningParserTests
{
    private static (string R, string C) Feed(bool opened, params string[] chunks)
    {
        var p = new ReasoningParser(opened);
        string r = "", c = "";
        foreach (var ch in chunks) { var (a, b) = p.Push(ch); r += a; c += b; }
        var (fa, fb) = p.Flush();
        return (r + fa, c + fb);
    }

    [Theory]
    [InlineData(true, new[] { "Let me think.", "</think>", "\n\nAnswer: 4" }, "Let me think.", "Answer: 4")]
    [InlineData(true, new[] { "abc</th", "ink>\n\nok" }, "abc", "ok")]
    [InlineData(false, new[] { "<think>", "hmm", "</think>", "yes" }, "hmm", "yes")]
    [InlineData(false, new[] { "<thi", "nk>x</think>y" }, "x", "y")]
    [InlineData(false, new[] { "plain answer" }, "", "plain answer")]
    [InlineData(true, new[] { "never closes" }, "never closes", "")]
    [InlineData(false, new[] { "answer mentions <think> later" }, "", "answer mentions <think> later")]
    public void SplitsReasoningFromContent(bool opened, string[] chunks, string reasoning, string content)
    {
        var (r, c) = Feed(opened, chunks);
        Assert.Equal(reasoning, r);
        Assert.Equal(content, c);
    }
}
