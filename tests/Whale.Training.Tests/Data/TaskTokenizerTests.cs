using Whale.Tokenization;
using Whale.Training.Data;

namespace Whale.Training.Tests.Data;

public class TaskTokenizerTests
{
    [Fact]
    public void DigitsAreSingleTokensAndTextRoundTrips()
    {
        var tok = TestModels.Tokenizer;
        var ids = tok.Encode("What is 4821 + 379?", addSpecial: false);
        Assert.Equal("What is 4821 + 379?", tok.Decode(ids));
        foreach (var id in ids)
        {
            string piece = tok.Decode([id]);
            if (piece.Any(char.IsAsciiDigit)) Assert.Equal(1, piece.Trim().Length);
        }
    }

    [Fact]
    public void SpecialTokensAndR1Template()
    {
        var v = TestModels.Vocab;
        Assert.Equal(R1ChatTemplate.Bos, v.Tokens[v.BosId]);
        Assert.Equal(R1ChatTemplate.Eos, v.Tokens[v.EosId]);
        Assert.Equal(0, v.BosId);
        Assert.Equal(TokenType.UserDefined, v.TokenTypes[Array.IndexOf(v.Tokens, "<think>")]);
        var template = ChatTemplate.FromTemplateText(v.ChatTemplate, R1ChatTemplate.Bos, R1ChatTemplate.Eos);
        Assert.True(template.GenerationPromptOpensThinking);
        Assert.Equal(R1ChatTemplate.Prompt("Hi"), template.Render([new ChatMessage(ChatRole.User, "Hi")], addGenerationPrompt: true));
        var enc = new TaskEncoder(TestModels.Tokenizer);
        var prompt = enc.Prompt("Hi");
        Assert.Equal(v.BosId, prompt[0]);
        Assert.Equal(Array.IndexOf(v.Tokens, "<think>"), prompt[^2]);
    }
}
