using Whale.Tokenization;

namespace Whale.Tests.Tokenization;

/// <summary>SentencePiece (<c>llama</c>) vocabularies: stories260K and a small synthetic vocabulary.</summary>
public class SpmTests
{
    private static (int[] Ids, string Text) Greedy200()
    {
        var lines = File.ReadAllLines(Path.Combine(TestPaths.Shared, "models", "stories260K", "greedy-200.txt"));
        var ids = lines.First(l => l.StartsWith("ids:", StringComparison.Ordinal))[4..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        var text = lines.First(l => l.StartsWith("text:", StringComparison.Ordinal))[5..];
        if (text.StartsWith(' '))
            text = text[1..];   // "text: " separator
        return (ids, text.Replace("\\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public void StoriesVocabLoads()
    {
        var tok = TokenizerFixtures.Stories;
        Assert.Equal(512, tok.VocabSize);
        Assert.Equal("llama", tok.Vocab.Model);
        Assert.Equal(1, tok.BosId);
        Assert.Equal(2, tok.EosId);
        Assert.True(tok.AddBos);
        Assert.True(tok.IsEog(2));
        Assert.Equal(TokenType.Byte, tok.GetTokenType(3 + 0x41));
    }

    [Fact]
    public void Greedy200DecodesToItsText()
    {
        var (ids, text) = Greedy200();
        var tok = TokenizerFixtures.Stories;
        Assert.Equal(text, tok.Decode(ids));
        // with the prompt BOS in front nothing changes (control tokens render empty)
        Assert.Equal(text, tok.Decode([1, .. ids]));
        // streaming gives the same text
        var dec = tok.CreateStreamingDecoder();
        var sb = new System.Text.StringBuilder();
        foreach (int id in ids)
            sb.Append(dec.Push(id));
        sb.Append(dec.Flush());
        Assert.Equal(text, sb.ToString());
    }

    [Fact]
    public void Greedy200TextEncodesToGeneratedIds()
    {
        var (ids, text) = Greedy200();
        var tok = TokenizerFixtures.Stories;
        // the text starts with the space the ▁ prefix gives; llama.cpp adds that prefix itself
        Assert.StartsWith(" ", text, StringComparison.Ordinal);
        var encoded = tok.Encode(text[1..], addSpecial: false);
        Assert.Equal(text, tok.Decode(encoded));
        Assert.Equal(ids, encoded);
        Assert.Equal([1, .. ids], tok.Encode(text[1..]));
    }

    [Fact]
    public void StoriesByteFallbackRoundTrips()
    {
        var tok = TokenizerFixtures.Stories;
        const string s = "Zoë 🦙 ±42 日本";
        var ids = tok.Encode(s, addSpecial: false);
        Assert.Contains(ids, id => tok.GetTokenType(id) == TokenType.Byte);
        Assert.Equal(" " + s, tok.Decode(ids));
    }

    private static Tokenizer Synthetic()
    {
        // <unk> <s> </s> <0x00>..<0xFF> then pieces with scores
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        var types = new List<TokenType> { TokenType.Unknown, TokenType.Control, TokenType.Control };
        var scores = new List<float> { 0, 0, 0 };
        for (int b = 0; b < 256; b++)
        {
            tokens.Add($"<0x{b:X2}>");
            types.Add(TokenType.Byte);
            scores.Add(0);
        }
        void Add(string t, float s)
        {
            tokens.Add(t);
            types.Add(TokenType.Normal);
            scores.Add(s);
        }
        Add("▁", -1); Add("a", -2); Add("b", -3); Add("c", -4); Add("ab", -5); Add("bc", -0.5f); Add("▁a", -6); Add("abc", -7);
        return new Tokenizer(new VocabData
        {
            Model = "llama",
            Tokens = tokens.ToArray(),
            TokenTypes = types.ToArray(),
            Scores = scores.ToArray(),
            BosId = 1,
            EosId = 2,
            UnkId = 0,
            AddBos = true,
            AddSpacePrefix = true,
        });
    }

    [Fact]
    public void SyntheticMergesByScoreAndFallsBackToBytes()
    {
        var tok = Synthetic();
        int Id(string t) => tok.FindToken(t)!.Value;
        // "▁abc": bigrams ▁a(-6) ab(-5) bc(-0.5) → bc first, then ▁a, then ▁a+bc is not a token
        Assert.Equal([Id("▁a"), Id("bc")], tok.Encode("abc", addSpecial: false));
        Assert.Equal([1, Id("▁a"), Id("bc")], tok.Encode("abc"));
        // unknown character: UTF-8 bytes
        Assert.Equal([Id("▁"), 3 + 0xC3, 3 + 0xA9], tok.Encode("é", addSpecial: false));
        Assert.Equal(" é", tok.Decode(tok.Encode("é", addSpecial: false)));
        // special parsing: text after a special token gets the ▁ prefix again
        Assert.Equal([Id("▁a"), 2, Id("▁a")], tok.Encode("a</s>a", addSpecial: false, parseSpecial: true));
    }
}
