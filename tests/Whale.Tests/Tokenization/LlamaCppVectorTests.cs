using System.Text;

namespace Whale.Tests.Tokenization;

/// <summary>llama.cpp's own tokenizer test vectors (test-tokenizer-0): every string must give exactly its ids.</summary>
public class LlamaCppVectorTests
{
    [Theory]
    [InlineData("deepseek-v3")]
    [InlineData("deepseek-r1-qwen")]
    [InlineData("qwen2")]
    [InlineData("deepseek-llm")]
    [InlineData("deepseek-coder")]
    [InlineData("gpt-2")]
    public void AllVectorsMatch(string name)
    {
        var tok = TokenizerFixtures.LlamaCppVocab(name);
        var cases = TokenizerFixtures.LlamaCppCases(name);
        Assert.Equal(46, cases.Count);
        var failures = new StringBuilder();
        int failed = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            var (text, expected) = cases[i];
            var actual = tok.Encode(text, addSpecial: false, parseSpecial: false);
            if (!actual.SequenceEqual(expected))
            {
                failed++;
                failures.AppendLine($"#{i} {text[..Math.Min(40, text.Length)]}: expected {TokenizerFixtures.Show(expected)} got {TokenizerFixtures.Show(actual)}");
            }
        }
        Assert.True(failed == 0, $"{failed}/{cases.Count} vectors differ for {name}:\n{failures}");
    }

    [Theory]
    [InlineData("deepseek-v3")]
    [InlineData("deepseek-r1-qwen")]
    [InlineData("deepseek-llm")]
    [InlineData("deepseek-coder")]
    [InlineData("gpt-2")]
    public void VectorsDecodeBack(string name)
    {
        var tok = TokenizerFixtures.LlamaCppVocab(name);
        foreach (var (text, ids) in TokenizerFixtures.LlamaCppCases(name))
            Assert.Equal(text, tok.Decode(ids));
    }
}
