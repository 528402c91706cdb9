using Whale.Tokenization;

namespace Whale.Tests.Tokenization;

/// <summary>
/// Pre-tokenizer splits checked by hand. llama-bpe has no vocabulary file here, so its regex is tested on its own
/// (its ids in ggml-vocab-llama-bpe.gguf.out cannot be checked without the 128k vocabulary).
/// </summary>
public class PreTokenizerTests
{
    private static string[] Split(string pre, string text)
    {
        var p = PreTokenizer.Create(pre);
        var cps = UnicodeInfo.ToCodePoints(text);
        var result = new List<string>();
        int pos = 0;
        foreach (int len in p.Split(cps))
        {
            var sb = new System.Text.StringBuilder();
            for (int i = pos; i < pos + len; i++)
                sb.Append(char.ConvertFromUtf32(cps[i]));
            result.Add(sb.ToString());
            pos += len;
        }
        return result.ToArray();
    }

    [Theory]
    [InlineData("llama-bpe")]
    [InlineData("llama3")]
    [InlineData("llama-v3")]
    public void LlamaBpeSplits(string pre)
    {
        Assert.True(PreTokenizer.Create(pre).IgnoreMerges);
        Assert.True(PreTokenizer.Create(pre).AddBosDefault);
        Assert.Equal(["Hello", " world"], Split(pre, "Hello world"));
        Assert.Equal(["123", "456", "7"], Split(pre, "1234567"));
        Assert.Equal(["I", "'ve", " been", " '", "told", " he", "'s"], Split(pre, "I've been 'told he's"));
        Assert.Equal(["We", "'Ve", " a", "'lL"], Split(pre, "We'Ve a'lL"));
        Assert.Equal(["   ", " Hello", "\n", "   ", " Hello"], Split(pre, "    Hello\n    Hello"));
        Assert.Equal(["\n \n\n \n\n\n \t \t\t \t\n"], Split(pre, "\n \n\n \n\n\n \t \t\t \t\n"));
        Assert.Equal(["\n \n\n \n\n\n", " \t \t\t ", "\tx"], Split(pre, "\n \n\n \n\n\n \t \t\t \tx"));
        Assert.Equal(["!!!!!!"], Split(pre, "!!!!!!"));
        Assert.Equal([" (", "normal", ")"], Split(pre, " (normal)"));
        Assert.Equal(["3", ".", "3"], Split(pre, "3.3"));
        Assert.Equal([" ...\n\n"], Split(pre, " ...\n\n"));
        Assert.Equal(["Hello", ",", " y", "'all", "!"], Split(pre, "Hello, y'all!"));
        Assert.Equal([" ?", "我想在apple工作", "131", "415", "1", "天", "～"], Split(pre, " ?我想在apple工作1314151天～"));
        Assert.Equal(["   "], Split(pre, "   "));
        Assert.Equal(["  ", " x"], Split(pre, "   x"));
    }

    [Fact]
    public void Qwen2SplitsSingleDigits()
    {
        Assert.Equal(["1", "2", "3", " ", "4"], Split("qwen2", "123 4"));
        Assert.Equal(["Hello", " World", "!"], Split("deepseek-r1-qwen", "Hello World!"));
        Assert.False(PreTokenizer.Create("qwen2").IgnoreMerges);
    }

    [Fact]
    public void DeepSeekV3Splits()
    {
        Assert.Equal(["Hello", " world", "!"], Split("deepseek-v3", "Hello world!"));
        Assert.Equal(["123", "456", "7"], Split("deepseek-v3", "1234567"));
        Assert.Equal(["深度求索", " DeepSeek", " ", "日本語のテキスト"], Split("deepseek-v3", "深度求索 DeepSeek 日本語のテキスト"));
        Assert.Equal(["'s", " cat", "'s"], Split("deepseek-v3", "'s cat's"));
        // '~' is neither \p{P} nor \p{S} in llama.cpp's collapsed classes: it can prefix a non-ASCII word and is
        // otherwise left in the gaps (HF would make "~~" one symbol run and "~é" two pieces)
        Assert.Equal(["~b"], Split("deepseek-v3", "~b"));
        Assert.Equal(["~é"], Split("deepseek-v3", "~é"));
        Assert.Equal(["a", " ", "~~", " b"], Split("deepseek-v3", "a ~~ b"));
        Assert.Equal([" !!\n"], Split("deepseek-v3", " !!\n"));
    }

    [Fact]
    public void DeepSeekLlmSplits()
    {
        Assert.Equal(["Hello", " world", "!"], Split("deepseek-llm", "Hello world!"));
        Assert.Equal(["\n", "\n", " x"], Split("deepseek-llm", "\n\n x"));
        Assert.Equal(["a", " ", "123"], Split("deepseek-llm", "a 123"));
        Assert.Equal(["x", "  "], Split("deepseek-llm", "x  "));
    }

    [Fact]
    public void DeepSeekCoderSplits()
    {
        Assert.Equal(["Hello", " world", "!"], Split("deepseek-coder", "Hello world!"));
        Assert.Equal(["1", "2", "3"], Split("deepseek-coder", "123"));
    }

    [Fact]
    public void Gpt2Splits()
    {
        Assert.Equal(["Hello", " world", "'s", " 123", "!!"], Split("gpt-2", "Hello world's 123!!"));
        Assert.Equal(["Hello", " ", " world"], Split("default", "Hello  world"));
        Assert.Equal(Split("gpt-2", "a  b\n\n c"), Split(null!, "a  b\n\n c"));
    }

    [Fact]
    public void UnknownPreIsRefused()
    {
        var ex = Assert.Throws<NotSupportedException>(() => PreTokenizer.Create("tekken"));
        Assert.Contains("tekken", ex.Message, StringComparison.Ordinal);
        var d = Path.Combine(TokenizerFixtures.TokDir, "qwen2.5");
        var ex2 = Assert.Throws<NotSupportedException>(() =>
            VocabData.FromHuggingFace(Path.Combine(d, "tokenizer.json"), "no-such-pre"));
        Assert.Contains("no-such-pre", ex2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownModelIsRefused()
    {
        var v = new VocabData { Model = "bert", Tokens = ["a"], TokenTypes = [TokenType.Normal] };
        var ex = Assert.Throws<NotSupportedException>(() => new Tokenizer(v));
        Assert.Contains("bert", ex.Message, StringComparison.Ordinal);
    }
}
