using Whale.Gguf;

namespace Whale.Tests.Gguf;

/// <summary>Reads the real GGUF fixtures under the shared folder.</summary>
public sealed class GgufRealFileTests
{
    private static string Vocab(string name) => Path.Combine(TestPaths.Shared, "tokenizers", "llama.cpp-vocab", $"ggml-vocab-{name}.gguf");

    [Theory]
    [InlineData("deepseek-llm", "llama")]
    [InlineData("deepseek-coder", "llama")]
    [InlineData("gpt-2", "gpt2")]
    public void VocabOnlyFiles(string name, string architecture)
    {
        using var f = GgufFile.Open(Vocab(name));
        Assert.True(f.Version is 2 or 3);
        Assert.Equal(architecture, f.Architecture);
        Assert.Equal("gpt2", f.GetString("tokenizer.ggml.model"));
        var tokens = f.GetValue("tokenizer.ggml.tokens");
        Assert.Equal(GgufValueType.Array, tokens.Type);
        Assert.Equal(GgufValueType.String, tokens.ElementType);
        var list = tokens.AsStringArray();
        Assert.Equal(list.Length, tokens.ArrayLength);
        Assert.True(list.Length > 30000, $"{list.Length} tokens");
        var merges = f.GetValue("tokenizer.ggml.merges").AsStringArray();
        Assert.True(merges.Length > 10000, $"{merges.Length} merges");
        Assert.All(merges.Take(100), m => Assert.Contains(" ", m, StringComparison.Ordinal));
        var types = f.GetValue("tokenizer.ggml.token_type").AsInt32Array();
        Assert.Equal(list.Length, types.Length);
        Assert.True(f.GetInt64("tokenizer.ggml.bos_token_id", -1) >= 0);
        Assert.Empty(f.Tensors);
    }

    [Fact]
    public void DeepSeekLlmVocabDetails()
    {
        using var f = GgufFile.Open(Vocab("deepseek-llm"));
        Assert.Equal("llama", f.Architecture);
        Assert.Equal("deepseek-llm", f.GetString("tokenizer.ggml.pre"));
        var tokens = f.GetValue("tokenizer.ggml.tokens").AsStringArray();
        Assert.Equal(f.GetInt64("llama.vocab_size", tokens.Length), tokens.Length);
    }

    [Fact]
    public void Stories260K()
    {
        string path = Path.Combine(TestPaths.Shared, "models", "stories260K", "stories260K.gguf");
        using var f = GgufFile.Open(path);
        Assert.Equal("llama", f.Architecture);
        Assert.Equal(5, f.GetInt32("llama.block_count", 0));
        var emb = f.GetTensor("token_embd.weight");
        Assert.Equal(GgmlType.F32, emb.Type);
        Assert.Equal(new long[] { 64, 512 }, emb.Shape);
        Assert.Equal(64L * 512 * 4, emb.ByteSize);
        var span = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f.GetTensorSpan(emb));
        Assert.Equal(64 * 512, span.Length);
        Assert.All(span.ToArray(), x => Assert.True(float.IsFinite(x)));
        Assert.Contains(span.ToArray(), x => x != 0);
        for (int i = 0; i < 5; i++)
        {
            Assert.True(f.TryGetTensor($"blk.{i}.attn_q.weight", out var q));
            Assert.Equal(64, q.Dim(0));
            Assert.True(f.TryGetTensor($"blk.{i}.ffn_down.weight", out _));
            Assert.True(f.TryGetTensor($"blk.{i}.attn_norm.weight", out _));
        }
        Assert.False(f.TryGetTensor("blk.5.attn_q.weight", out _));
        Assert.Equal(5, f.Tensors.Select(t => t.Name).Where(n => n.StartsWith("blk.", StringComparison.Ordinal))
            .Select(n => n.Split('.')[1]).Distinct().Count());
        var tokens = f.GetValue("tokenizer.ggml.tokens").AsStringArray();
        Assert.Equal(tokens.Length, emb.Dim(1));
        // every tensor lies inside the file and is aligned
        long fileLength = new FileInfo(path).Length;
        unsafe
        {
            byte* first = f.GetTensorData(f.Tensors[0]);
            foreach (var t in f.Tensors)
            {
                Assert.Equal(0, t.Offset % f.Alignment);
                Assert.True(f.GetTensorData(t) - first + t.ByteSize <= fileLength);
            }
        }
    }
}
