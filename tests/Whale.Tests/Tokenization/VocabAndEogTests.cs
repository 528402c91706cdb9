using System.Diagnostics;
using System.Text;
using Whale.Gguf;
using Whale.Tokenization;

namespace Whale.Tests.Tokenization;

/// <summary>Vocabulary loading (HF and GGUF), GGUF write/read round trip, end-of-generation ids, speed.</summary>
public class VocabAndEogTests
{
    [Fact]
    public void HuggingFaceVocabLooksLikeTheConverterOutput()
    {
        var v3 = TokenizerFixtures.Hf("deepseek-v3").Vocab;
        Assert.Equal("gpt2", v3.Model);
        Assert.Equal("deepseek-v3", v3.Pre);
        Assert.Equal(128815, v3.Tokens.Length);
        Assert.Equal(127741, v3.Merges!.Length);
        Assert.Equal([TokenType.Control, TokenType.Control, TokenType.Control, TokenType.Normal], v3.TokenTypes[..4]);
        Assert.Equal("<｜begin▁of▁sentence｜>", v3.Tokens[0]);
        Assert.Equal(0, v3.BosId);
        Assert.Equal(1, v3.EosId);
        Assert.Equal(1, v3.PadId);
        Assert.True(v3.AddBos);
        Assert.False(v3.AddEos);
        Assert.NotNull(v3.ChatTemplate);
        Assert.Equal("<｜User｜>", v3.Tokens[128803]);

        var distill = TokenizerFixtures.Hf("deepseek-r1-distill-qwen").Vocab;
        Assert.Equal(151387, distill.Merges!.Length);
        Assert.Equal(151646, distill.BosId);
        Assert.Equal(151643, distill.EosId);
        Assert.True(distill.AddBos);
        Assert.Equal(151665, distill.Tokens.Length);

        var qwen3 = TokenizerFixtures.Hf("qwen3").Vocab;   // merges stored as [a, b] pairs
        Assert.Equal(151387, qwen3.Merges!.Length);
        Assert.Equal("Ġ Ġ", qwen3.Merges[0]);
    }

    [Fact]
    public void HolesBecomePadTokens()
    {
        var d = Path.Combine(TokenizerFixtures.TokDir, "deepseek-v3");
        var v = VocabData.FromHuggingFace(Path.Combine(d, "tokenizer.json"), "deepseek-v3", null, vocabSize: 129280);
        Assert.Equal(129280, v.Tokens.Length);
        Assert.Equal("[PAD129279]", v.Tokens[129279]);
        Assert.Equal(TokenType.Unused, v.TokenTypes[129279]);
        var tok = new Tokenizer(v);
        Assert.Empty(tok.TokenToBytes(129279));
    }

    [Fact]
    public void EogTokens()
    {
        var v3 = TokenizerFixtures.Hf("deepseek-v3");
        Assert.True(v3.IsEog(1));
        Assert.True(v3.IsEog(v3.FindToken("<|EOT|>")!.Value));
        Assert.False(v3.IsEog(0));
        Assert.False(v3.IsEog(19923));
        Assert.Equal(1, v3.EotId);

        var qwen = TokenizerFixtures.Hf("qwen2.5");
        Assert.True(qwen.IsEog(151645));   // <|im_end|>
        Assert.True(qwen.IsEog(151643));   // <|endoftext|>
        Assert.False(qwen.IsEog(151644));  // <|im_start|>

        var distill = TokenizerFixtures.Hf("deepseek-r1-distill-qwen");
        Assert.True(distill.IsEog(151643));
        Assert.False(distill.IsEog(151646));
    }

    [Fact]
    public void GgufVocabularies()
    {
        var llm = TokenizerFixtures.LlamaCppVocab("deepseek-llm");
        Assert.Equal(102400, llm.VocabSize);
        Assert.Equal(100000, llm.BosId);
        Assert.Equal(100001, llm.EosId);
        Assert.True(llm.AddBos);
        Assert.Equal("deepseek-llm", llm.Vocab.Pre);
        Assert.Equal([100000, .. llm.Encode("Hello world", addSpecial: false)], llm.Encode("Hello world"));
        var gpt2 = TokenizerFixtures.LlamaCppVocab("gpt-2");
        Assert.Equal(50256, gpt2.BosId);
        Assert.False(gpt2.AddBos);
        Assert.True(gpt2.IsEog(50256));
    }

    [Fact]
    public void WriteToThenFromGgufRoundTrips()
    {
        var original = TokenizerFixtures.Hf("deepseek-r1-distill-qwen").Vocab;
        var path = Path.Combine(Path.GetTempPath(), $"whale-tok-{Guid.NewGuid():N}.gguf");
        try
        {
            var w = new GgufWriter();
            w.SetString("general.architecture", "qwen2");
            original.WriteTo(w);
            w.Write(path);
            using var f = GgufFile.Open(path);
            var back = VocabData.FromGguf(f);
            Assert.Equal(original.Model, back.Model);
            Assert.Equal(original.Pre, back.Pre);
            Assert.Equal(original.Tokens, back.Tokens);
            Assert.Equal(original.TokenTypes, back.TokenTypes);
            Assert.Equal(original.Merges, back.Merges);
            Assert.Equal(original.BosId, back.BosId);
            Assert.Equal(original.EosId, back.EosId);
            Assert.Equal(original.PadId, back.PadId);
            Assert.Equal(original.AddBos, back.AddBos);
            Assert.Equal(original.AddEos, back.AddEos);
            Assert.Equal(original.ChatTemplate, back.ChatTemplate);
            var tok = new Tokenizer(back);
            Assert.Equal([151646, 151644, 9707, 11, 1879, 0, 151645],
                tok.Encode("<｜User｜>Hello, world!<｜Assistant｜>", addSpecial: true, parseSpecial: true));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void UnknownPreInGgufIsRefused()
    {
        var path = Path.Combine(Path.GetTempPath(), $"whale-tok-{Guid.NewGuid():N}.gguf");
        try
        {
            var v = new VocabData
            {
                Model = "gpt2", Pre = "mystery-pre", Tokens = ["a", "b", "ab"],
                TokenTypes = [TokenType.Normal, TokenType.Normal, TokenType.Normal], Merges = ["a b"],
            };
            var w = new GgufWriter();
            v.WriteTo(w);
            w.Write(path);
            using var f = GgufFile.Open(path);
            var ex = Assert.Throws<NotSupportedException>(() => VocabData.FromGguf(f));
            Assert.Contains("mystery-pre", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void LoadsAndEncodes100KbQuickly()
    {
        var sw = Stopwatch.StartNew();
        var d = Path.Combine(TokenizerFixtures.TokDir, "qwen2.5");
        var tok = new Tokenizer(VocabData.FromHuggingFace(Path.Combine(d, "tokenizer.json"), "qwen2", Path.Combine(d, "tokenizer_config.json")));
        var load = sw.Elapsed;
        var sb = new StringBuilder();
        var rng = new Random(5);
        var words = new[] { "the", "quick", "brown", "fox", "深度求索", "données", "🦙", "1234567", "\n", "  ", "Привет", "world!" };
        while (sb.Length < 100_000)
            sb.Append(words[rng.Next(words.Length)]).Append(rng.Next(3) == 0 ? "" : " ").Append(rng.Next(100_000));
        var text = sb.ToString();
        sw.Restart();
        var ids = tok.Encode(text, addSpecial: false);
        var encode = sw.Elapsed;
        Assert.Equal(text, tok.Decode(ids));
        Assert.True(load.TotalSeconds < 15, $"load took {load}");
        Assert.True(encode.TotalSeconds < 10, $"encode of 100 KB took {encode}");
    }
}
