using System.Text;
using Whale.Tokenization;

namespace Whale.Tests.Tokenization;

/// <summary>Decode(Encode(s)) == s on the byte-level vocabularies, and the streaming decoder's guarantees.</summary>
public class RoundTripAndStreamingTests
{
    private static readonly string[] Samples =
    [
        "Hello, world! 👋🏽 Emoji: 🦙🚀😶‍🌫️ 👨‍👩‍👧‍👦",
        "中文测试：深度求索。日本語のテキスト、カタカナ。한국어 텍스트",
        "Combining: e\u0301 a\u0308 n\u0303 \u0915\u094D\u0937 ज़\u200D",
        "Tabs\tand\r\nCRLF\n\n\n   spaces   \u00A0nbsp\u3000ideographic",
        "Math ∑∫√∞ ≠ ≤ ≥ and symbols ~ ` ^ | $ + < = > ~~~ a~b ~é",
        "Arabic مرحبا بالعالم Hebrew שלום Thai สวัสดี Khmer ខ្មែរ",
        "numbers 1234567890 ١٢٣ ⅷ ½ 3.14159 1e-10",
        "'s 't 're 've 'm 'll 'd 'S 'T 'RE I'M",
    ];

    private static string RandomText(Random rng, int length)
    {
        var sb = new StringBuilder();
        while (sb.Length < length)
        {
            int kind = rng.Next(6);
            int cp = kind switch
            {
                0 => rng.Next(0x20, 0x7F),
                1 => rng.Next(0x80, 0x800),
                2 => rng.Next(0x800, 0xD800),
                3 => rng.Next(0xE000, 0x10000),
                4 => rng.Next(0x10000, 0x110000),
                _ => " \n\t\r'~"[rng.Next(6)],
            };
            sb.Append(char.ConvertFromUtf32(cp));
        }
        return sb.ToString();
    }

    [Theory]
    [InlineData("deepseek-v3")]
    [InlineData("deepseek-r1-distill-qwen")]
    [InlineData("qwen2.5")]
    public void RoundTrip(string name)
    {
        var tok = TokenizerFixtures.Hf(name);
        foreach (var s in Samples)
            Assert.Equal(s, tok.Decode(tok.Encode(s, addSpecial: false)));
        var rng = new Random(1234);
        for (int i = 0; i < 200; i++)
        {
            var s = RandomText(rng, rng.Next(1, 80));
            var ids = tok.Encode(s, addSpecial: false);
            Assert.Equal(s, tok.Decode(ids));
        }
    }

    [Theory]
    [InlineData("deepseek-llm")]
    [InlineData("deepseek-coder")]
    [InlineData("gpt-2")]
    public void RoundTripGgufVocabs(string name)
    {
        var tok = TokenizerFixtures.LlamaCppVocab(name);
        foreach (var s in Samples)
            Assert.Equal(s, tok.Decode(tok.Encode(s, addSpecial: false)));
        var rng = new Random(99);
        for (int i = 0; i < 100; i++)
        {
            var s = RandomText(rng, rng.Next(1, 60));
            Assert.Equal(s, tok.Decode(tok.Encode(s, addSpecial: false)));
        }
    }

    [Fact]
    public void StreamingNeverEmitsPartialCharacters()
    {
        var tok = TokenizerFixtures.Hf("qwen2.5");
        var rng = new Random(7);
        var all = Samples.Concat(Enumerable.Range(0, 50).Select(_ => RandomText(rng, 60)));
        foreach (var s in all)
        {
            var ids = tok.Encode(s, addSpecial: false);
            var dec = tok.CreateStreamingDecoder();
            var sb = new StringBuilder();
            foreach (int id in ids)
            {
                string part = dec.Push(id);
                Assert.DoesNotContain('\uFFFD', part);
                if (part.Length > 0)
                    Assert.False(char.IsHighSurrogate(part[^1]), "ends in half a surrogate pair");
                sb.Append(part);
            }
            sb.Append(dec.Flush());
            Assert.Equal(s, sb.ToString());
        }
    }

    [Fact]
    public void StreamingBuffersSplitCharacter()
    {
        var tok = TokenizerFixtures.Hf("qwen2.5");
        var ids = tok.Encode(" this is 🦙.cpp", addSpecial: false);
        Assert.Equal([419, 374, 11162, 99, 247, 13, 10821], ids);   // 🦙 is split over three tokens
        var dec = tok.CreateStreamingDecoder();
        Assert.Equal(" this", dec.Push(419));
        Assert.Equal(" is", dec.Push(374));
        Assert.Equal(" ", dec.Push(11162));   // " \xF0\x9F" → only the space
        Assert.Equal("", dec.Push(99));
        Assert.Equal("🦙", dec.Push(247));
        Assert.Equal(".", dec.Push(13));
        Assert.Equal("cpp", dec.Push(10821));
        Assert.Equal("", dec.Flush());
    }

    private static int ByteToken(Tokenizer tok, byte b) => tok.FindToken(ByteLevel.ByteToChar[b].ToString())!.Value;

    [Fact]
    public void StreamingHandlesInvalidBytes()
    {
        var tok = TokenizerFixtures.Hf("qwen2.5");
        var dec = tok.CreateStreamingDecoder();
        // a lead byte followed by ASCII: the lead can never complete → U+FFFD, then the letter
        Assert.Equal("", dec.Push(ByteToken(tok, 0xF0)));
        Assert.Equal("\uFFFDa", dec.Push(tok.FindToken("a")!.Value));
        // a lone continuation byte is invalid at once
        Assert.Equal("\uFFFD", dec.Push(ByteToken(tok, 0x80)));
        // 0xFF is never valid
        Assert.Equal("\uFFFD", dec.Push(ByteToken(tok, 0xFF)));
        // E0 80 can never be valid (overlong): not held back
        dec.Push(ByteToken(tok, 0xE0));
        Assert.Equal("\uFFFD\uFFFD", dec.Push(ByteToken(tok, 0x80)));
        // an unfinished sequence at the end comes out on Flush as U+FFFD
        Assert.Equal("", dec.Push(ByteToken(tok, 0xE4)));
        Assert.Equal("", dec.Push(ByteToken(tok, 0xB8)));
        Assert.Equal("\uFFFD", dec.Flush());
        Assert.Equal("", dec.Flush());
    }

    [Fact]
    public void DecodeInvalidBytesGivesReplacementCharacter()
    {
        var tok = TokenizerFixtures.Hf("qwen2.5");
        Assert.Equal("a\uFFFD", tok.Decode([tok.FindToken("a")!.Value, ByteToken(tok, 0xE4)]));
    }

    [Fact]
    public void TokenToBytesFollowsTokenTypes()
    {
        var tok = TokenizerFixtures.Hf("deepseek-r1-distill-qwen");
        int bos = tok.BosId;
        Assert.Equal(151646, bos);
        Assert.Empty(tok.TokenToBytes(bos));
        Assert.Equal("<｜begin▁of▁sentence｜>", Encoding.UTF8.GetString(tok.TokenToBytes(bos, renderSpecial: true)));
        Assert.Equal(" Hello", Encoding.UTF8.GetString(tok.TokenToBytes(21927)));
        int think = tok.FindToken("<think>")!.Value;
        Assert.Equal(151648, think);
        Assert.Equal(TokenType.UserDefined, tok.GetTokenType(think));
        Assert.Equal("<think>", Encoding.UTF8.GetString(tok.TokenToBytes(think)));
        // <｜User｜> is not special in HF but looks special: the converter makes it a control token
        Assert.Equal(TokenType.Control, tok.GetTokenType(151644));
        Assert.Empty(tok.TokenToBytes(-1));
        Assert.Empty(tok.TokenToBytes(tok.VocabSize));
    }
}
