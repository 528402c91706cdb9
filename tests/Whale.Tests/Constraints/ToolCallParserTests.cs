using Whale.Constraints;
using Whale.Tools;

namespace Whale.Tests.Constraints;

public class ToolCallParserTests
{
    [Fact]
    public void Hermes_calls_split_across_pushes()
    {
        var p = new ToolCallParser(ToolCallSyntax.Hermes);
        string text = "Let me check.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"t\", \"arguments\": {}}\n</tool_call>";
        var content = new System.Text.StringBuilder();
        var calls = new List<Whale.Tokenization.ChatToolCall>();
        for (int i = 0; i < text.Length; i += 3)
        {
            var (c, k) = p.Push(text.Substring(i, Math.Min(3, text.Length - i)));
            content.Append(c);
            calls.AddRange(k);
        }
        var (rest, last) = p.Flush();
        content.Append(rest);
        calls.AddRange(last);
        Assert.Equal("Let me check.", content.ToString());
        Assert.Equal(2, calls.Count);
        Assert.Equal("get_weather", calls[0].Name);
        Assert.Equal("{\"city\": \"Paris\"}", calls[0].ArgumentsJson);
        Assert.Equal("t", calls[1].Name);
        Assert.NotEqual(calls[0].Id, calls[1].Id);
    }

    [Fact]
    public void DeepSeek_calls_and_held_back_marker_prefix()
    {
        var p = new ToolCallParser(ToolCallSyntax.DeepSeek);
        var (c1, k1) = p.Push("Hi <｜tool");
        Assert.Equal("Hi ", c1);
        Assert.Empty(k1);
        var (c2, k2) = p.Push("▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{\"a\":1}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>");
        Assert.Equal("", c2);
        var call = Assert.Single(k2);
        Assert.Equal(("f", "{\"a\":1}"), (call.Name, call.ArgumentsJson));
        Assert.Equal(("", 0), (p.Flush().Content, p.Flush().Calls.Count));
    }

    [Fact]
    public void DeepSeek_v3_control_tool_tokens_are_allowed_and_decoded_when_rendering_special_tokens()
    {
        var tok = new Whale.Tokenization.Tokenizer(Whale.Models.Synthetic.SyntheticVocab.Load(Path.Combine(TestPaths.Shared, "tokenizers"), "deepseek-v3"));
        int begin = tok.FindToken("<｜tool▁calls▁begin｜>")!.Value;
        Assert.Equal(Whale.Tokenization.TokenType.Control, tok.GetTokenType(begin));
        var grammar = JsonGrammar.ToolCalls(ToolCallSyntax.DeepSeek, [("f", JsonGrammar.AnyObject)], parallel: false);
        var logits = new float[tok.VocabSize];
        grammar.CreateConstraint(tok, renderSpecialTokens: true).ApplyMask(logits);
        Assert.False(float.IsNegativeInfinity(logits[begin]));
        Array.Clear(logits);
        grammar.CreateConstraint(tok).ApplyMask(logits);
        Assert.True(float.IsNegativeInfinity(logits[begin]));

        var ids = tok.Encode("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>", addSpecial: false, parseSpecial: true);
        var c = grammar.CreateConstraint(tok, renderSpecialTokens: true);
        foreach (int id in ids) c.Accept(id);
        Assert.True(c.IsComplete);
        var (content, calls) = ToolCallParser.ParseAll(tok.Decode(ids, renderSpecial: true), ToolCallSyntax.DeepSeek);
        Assert.Equal("", content);
        Assert.Equal(("f", "{}"), (Assert.Single(calls).Name, calls[0].ArgumentsJson));
    }

    [Fact]
    public void Triggered_constraint_is_free_until_a_call_starts()
    {
        var tok = new Whale.Tokenization.Tokenizer(Whale.Models.Synthetic.SyntheticVocab.Load(Path.Combine(TestPaths.Shared, "tokenizers"), "deepseek-r1-distill-qwen"));
        var args = JsonGrammar.FromSchema("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}""");
        var grammar = JsonGrammar.ToolCalls(ToolCallSyntax.Hermes, [("get_weather", args), ("get_time", JsonGrammar.AnyObject)], parallel: true);
        var c = grammar.CreateTriggeredConstraint(tok, ToolCallSyntax.Hermes.TriggerText);
        var logits = new float[tok.VocabSize];
        foreach (int id in tok.Encode("Sure, let me check. ", addSpecial: false))
        {
            c.ApplyMask(logits);
            Assert.DoesNotContain(logits, float.IsNegativeInfinity);
            c.Accept(id);
        }
        foreach (int id in tok.Encode("<tool_call>\n{\"name\": \"get_w", addSpecial: false, parseSpecial: true)) c.Accept(id);
        c.ApplyMask(logits);
        int allowed = logits.Count(x => !float.IsNegativeInfinity(x));
        Assert.InRange(allowed, 1, 20);
        Assert.False(float.IsNegativeInfinity(logits[tok.Encode("eather", addSpecial: false)[0]]));
        Assert.False(c.IsComplete);
    }

    [Fact]
    public void Plain_text_passes_through()
    {
        var (content, calls) = ToolCallParser.ParseAll("a < b and <tool maybe", ToolCallSyntax.Hermes);
        Assert.Equal("a < b and <tool maybe", content);
        Assert.Empty(calls);
    }
}
