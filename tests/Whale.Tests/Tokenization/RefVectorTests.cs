namespace Whale.Tests.Tokenization;

/// <summary>
/// vectors/*.ref.json: ids from the HF tokenizer. HF always matches added tokens in text, so <c>ids_no_special</c> is
/// llama.cpp's Encode(text, addSpecial: false, parseSpecial: true); <c>ids_with_special</c> follows tokenizer.json's
/// post-processor (a BOS for R1-Distill-Qwen's TemplateProcessing, nothing for V3's and Qwen2.5's ByteLevel one).
/// </summary>
public class RefVectorTests
{
    [Theory]
    [InlineData("deepseek-v3", false)]
    [InlineData("deepseek-r1-distill-qwen", true)]
    [InlineData("qwen2.5", false)]
    public void CasesMatch(string name, bool postProcessorAddsBos)
    {
        var tok = TokenizerFixtures.Hf(name);
        var file = TokenizerFixtures.Ref(name);
        Assert.Equal(52, file.Cases.Count);
        var bad = new List<string>();
        foreach (var c in file.Cases)
        {
            var noSpecial = tok.Encode(c.Text, addSpecial: false, parseSpecial: true);
            if (!noSpecial.SequenceEqual(c.IdsNoSpecial))
                bad.Add($"no_special '{c.Text}': expected {TokenizerFixtures.Show(c.IdsNoSpecial)} got {TokenizerFixtures.Show(noSpecial)}");
            int[] withSpecial = postProcessorAddsBos ? [tok.BosId, .. noSpecial] : noSpecial;
            if (!withSpecial.SequenceEqual(c.IdsWithSpecial))
                bad.Add($"with_special '{c.Text}': expected {TokenizerFixtures.Show(c.IdsWithSpecial)} got {TokenizerFixtures.Show(withSpecial)}");
            if (postProcessorAddsBos)
                Assert.Equal(withSpecial, tok.Encode(c.Text, addSpecial: true, parseSpecial: true));
        }
        Assert.True(bad.Count == 0, string.Join("\n", bad));
    }

    [Theory]
    [InlineData("deepseek-v3")]
    [InlineData("deepseek-r1-distill-qwen")]
    [InlineData("qwen2.5")]
    public void ChatPromptMatches(string name)
    {
        var tok = TokenizerFixtures.Hf(name);
        var file = TokenizerFixtures.Ref(name);
        var ids = tok.Encode(file.ChatPrompt, addSpecial: false, parseSpecial: true);
        Assert.Equal(file.ChatIds, ids);
        Assert.Equal(file.ChatPrompt, tok.Decode(ids, renderSpecial: true));
    }

    [Fact]
    public void WithoutSpecialParsingControlTokensAreText()
    {
        var tok = TokenizerFixtures.Hf("deepseek-v3");
        const string text = "<｜begin▁of▁sentence｜>hi";
        var parsed = tok.Encode(text, addSpecial: false, parseSpecial: true);
        Assert.Equal([0, .. tok.Encode("hi", false, false)], parsed);
        var plain = tok.Encode(text, addSpecial: false, parseSpecial: false);
        Assert.DoesNotContain(0, plain);
        Assert.Equal(text, tok.Decode(plain));
    }

    [Fact]
    public void UserDefinedTokensMatchWithoutSpecialParsing()
    {
        var tok = TokenizerFixtures.Hf("qwen3");
        int think = tok.FindToken("<think>")!.Value;
        Assert.Equal(Whale.Tokenization.TokenType.UserDefined, tok.GetTokenType(think));
        var ids = tok.Encode("a<think>b", addSpecial: false, parseSpecial: false);
        Assert.Contains(think, ids);
        Assert.Equal("a<think>b", tok.Decode(ids));
    }

    [Fact]
    public void AddSpecialPrependsBos()
    {
        var v3 = TokenizerFixtures.Hf("deepseek-v3");
        Assert.True(v3.AddBos);
        Assert.Equal(0, v3.BosId);
        Assert.Equal(1, v3.EosId);
        Assert.Equal([0, 19923, 2058], v3.Encode("Hello world"));
        var qwen = TokenizerFixtures.Hf("qwen2.5");
        Assert.False(qwen.AddBos);
        Assert.Equal([9707, 1879], qwen.Encode("Hello world"));
    }
}
