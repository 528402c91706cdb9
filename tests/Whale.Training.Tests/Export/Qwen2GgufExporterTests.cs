using System.Collections;
using System.Runtime.InteropServices;
using Whale.Engine;
using Whale.Gguf;
using Whale.Tokenization;
using Whale.Training.Data;
using Whale.Training.Export;
using Whale.Training.Model;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Whale.Training.Tests.Export;

public sealed class Qwen2GgufExporterTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("whale-train-qwen2").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RoundTripNamesShapesMetadata(bool tied)
    {
        var model = TestModels.Student(3, c => c with { TiedEmbeddings = tied });
        var c = model.Config;
        string path = Path.Combine(_dir, "s.gguf");
        var names = Qwen2GgufExporter.Export(model, TestModels.Vocab, path);
        using var f = GgufFile.Open(path);
        Assert.Equal("qwen2", f.Architecture);
        Assert.Equal(names, f.Tensors.Select(t => t.Name).ToList());
        Assert.Equal(2 + (tied ? 0 : 1) + 12 * c.Layers, names.Count);
        long Key(string k) => f.GetValue("qwen2." + k).AsInt64();
        Assert.Equal(c.Layers, Key("block_count"));
        Assert.Equal(c.Embed, Key("embedding_length"));
        Assert.Equal(c.Ffn, Key("feed_forward_length"));
        Assert.Equal(c.Heads, Key("attention.head_count"));
        Assert.Equal(c.KvHeads, Key("attention.head_count_kv"));
        Assert.Equal(c.Context, Key("context_length"));
        Assert.Equal(c.RmsEps, f.GetValue("qwen2.attention.layer_norm_rms_epsilon").AsSingle());
        Assert.Equal(c.RopeBase, f.GetValue("qwen2.rope.freq_base").AsSingle());
        long[] Shape(string n) => f.Tensors.Single(t => t.Name == n).Shape;
        int kvDim = c.KvHeads * c.HeadDim;
        Assert.Equal(new long[] { c.Embed, c.VocabSize }, Shape("token_embd.weight"));
        Assert.Equal(new long[] { c.Embed, c.Embed }, Shape("blk.1.attn_q.weight"));
        Assert.Equal(new long[] { c.Embed }, Shape("blk.1.attn_q.bias"));
        Assert.Equal(new long[] { c.Embed, kvDim }, Shape("blk.1.attn_k.weight"));
        Assert.Equal(new long[] { kvDim }, Shape("blk.1.attn_v.bias"));
        Assert.Equal(new long[] { c.Embed, c.Embed }, Shape("blk.1.attn_output.weight"));
        Assert.Equal(new long[] { c.Embed, c.Ffn }, Shape("blk.0.ffn_up.weight"));
        Assert.Equal(new long[] { c.Ffn, c.Embed }, Shape("blk.0.ffn_down.weight"));
        Assert.DoesNotContain(names, n => n.Contains("attn_output.bias", StringComparison.Ordinal));
        Assert.Equal(!tied, names.Contains("output.weight"));
        // a torch [out, in] matrix is GGUF ne {in, out}: element (i, o) = torch k[o, i]
        var k = MemoryMarshal.Cast<byte, float>(f.GetTensorSpan(f.Tensors.Single(t => t.Name == "blk.1.attn_k.weight")));
        Assert.Equal(model.blocks[1].attn.k[5, 7].item<float>(), k[5 * c.Embed + 7]);
        var v = VocabData.FromGguf(f);
        Assert.Equal(TestModels.Vocab.Tokens, v.Tokens);
        Assert.Equal(TestModels.Vocab.Merges, v.Merges);
        Assert.Equal(R1ChatTemplate.Text, v.ChatTemplate);
        using var whale = WhaleModel.Load(path, new ModelOptions { Threads = 1 });
        Assert.Equal(c.KvHeads, whale.Config.NumKvHeads);
        Assert.Equal(Whale.Kernels.RopeMode.Neox, whale.Config.RopeMode);
    }

    /// <summary>Exported with the teacher's vocabulary, the student carries exactly the teacher's tokenizer.* metadata.</summary>
    [Fact]
    public void StudentCarriesTheTeachersTokenizerMetadata()
    {
        using var teacher = GgufFile.Open(TestModels.TeacherPath());
        var vocab = VocabData.FromGguf(teacher);
        var model = TestModels.Student(4, c => c with { VocabSize = vocab.Count });
        string path = Path.Combine(_dir, "student.gguf");
        Qwen2GgufExporter.Export(model, vocab, path);
        using var student = GgufFile.Open(path);
        var keys = teacher.Metadata.Keys.Where(k => k.StartsWith("tokenizer.", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.Contains("tokenizer.chat_template", keys);
        Assert.Equal(keys, student.Metadata.Keys.Where(k => k.StartsWith("tokenizer.", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        foreach (var key in keys)
        {
            var a = teacher.Metadata[key];
            var b = student.Metadata[key];
            Assert.Equal(a.Type, b.Type);
            if (a.Value is IEnumerable ea and not string) Assert.Equal(ea.Cast<object>(), ((IEnumerable)b.Value).Cast<object>());
            else Assert.Equal(a.Value, b.Value);
        }
    }

    /// <summary>
    /// TorchSharp student logits against Whale's engine on the exported F32 file, at the last position of every prefix
    /// of a 100-token conversation. Whale rounds q, K, V (its F16 cache, as llama.cpp) and the softmax weights to F16.
    /// With the student rounding the same values (<see cref="Qwen2Attention.RoundLikeF16Cache"/>) a single token agrees
    /// to float noise (1e-6: embedding, norms, biased projections, FFN and head are exact), and longer prefixes too
    /// until a value lands on the other side of an F16 rounding boundary (float noise decides it; measured up to 3e-4
    /// after one). Without the rounding the F16 noise is everywhere (measured 1e-4 to 8e-4). Biases are random so that
    /// every term of the forward pass is exercised; RoPE has its own exact test below.
    /// </summary>
    [Theory]
    [InlineData(2, false, true)]
    [InlineData(2, true, true)]
    [InlineData(4, false, true)]
    [InlineData(2, false, false)]
    public void TorchLogitsMatchWhale(int kvHeads, bool tied, bool roundLikeF16)
    {
        var model = TestModels.Student(5, c => c with { KvHeads = kvHeads, TiedEmbeddings = tied });
        using (no_grad())
            foreach (var b in model.blocks)
                foreach (var bias in new[] { b.attn.q_bias, b.attn.k_bias, b.attn.v_bias }) bias.copy_(randn(bias.shape) * 0.3f);
        foreach (var b in model.blocks) b.attn.RoundLikeF16Cache = roundLikeF16;
        string path = Path.Combine(_dir, $"parity-{kvHeads}-{tied}.gguf");
        Qwen2GgufExporter.Export(model, TestModels.Vocab, path);
        var enc = new TaskEncoder(TestModels.Tokenizer);
        var ids = enc.Chat(new TaskGenerator(8).Next(TaskKind.Countdown, heldOut: false)).Ids;
        model.eval();
        Tensor logits;
        using (no_grad()) logits = model.Forward(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0))[0];
        using var whale = WhaleModel.Load(path, new ModelOptions { Threads = 2 });
        Assert.Equal("qwen2", whale.Config.Architecture);
        using var gen = whale.CreateGenerator(256);
        var diffs = new List<double>();
        for (int len = 1; len <= ids.Length; len++)
        {
            var ours = gen.Evaluate(ids[..len]);
            var theirs = logits[len - 1].data<float>().ToArray();
            double maxAbs = theirs.Max(Math.Abs), maxDiff = 0;
            for (int i = 0; i < theirs.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs(ours[i] - theirs[i]));
            diffs.Add(maxDiff / maxAbs);
            Assert.Equal(Array.IndexOf(theirs, theirs.Max()), Array.IndexOf(ours, ours.Max()));
        }
        var sorted = diffs.Order().ToList();
        output.WriteLine($"kv heads {kvHeads}, tied {tied}, F16 rounding {roundLikeF16}: {ids.Length} prefixes, max|diff|/max|logit|: "
                       + $"1 token {diffs[0]:E2}, median {sorted[sorted.Count / 2]:E2}, worst {sorted[^1]:E2}");
        if (roundLikeF16) Assert.True(diffs[0] < 1e-6, $"one token: {diffs[0]:E2}");
        Assert.True(sorted[^1] < 1e-3, $"max|diff|/max|logit| = {sorted[^1]:E2}");
    }

    /// <summary>NEOX RoPE of the student (pairs (x[k], x[k + d/2]), float angle recurrence) against Whale's kernel at every position.</summary>
    [Fact]
    public void NeoxRopeMatchesWhalesKernel()
    {
        const int heads = 3, dims = 16, positions = 1024;
        var rope = new NeoxRope(dims, 10000f, positions);
        manual_seed(9);
        var x = randn(1, positions, heads, dims);
        var ours = rope.Apply(x).data<float>().ToArray();
        var src = x.data<float>().ToArray();
        var kernel = new Whale.Kernels.Rope(dims, Whale.Kernels.RopeMode.Neox, 10000f);
        var cos = new float[dims / 2];
        var sin = new float[dims / 2];
        double worst = 0;
        for (int p = 0; p < positions; p++)
        {
            kernel.Angles(p, cos, sin);
            var row = src.AsSpan(p * heads * dims, heads * dims).ToArray();
            kernel.Apply(row, heads, dims, cos, sin);
            for (int i = 0; i < row.Length; i++) worst = Math.Max(worst, Math.Abs(row[i] - ours[p * heads * dims + i]));
        }
        // the kernel fuses one product into the add (as GCC compiles ggml): at most a rounding step apart
        Assert.True(worst < 2e-6, $"max |diff| = {worst:E2}");
        // and NORM pairing would be far off: the test can tell the modes apart
        var norm = new NormRope(dims, 10000f, positions).Apply(x).data<float>().ToArray();
        Assert.True(norm.Zip(ours).Max(t => Math.Abs(t.First - t.Second)) > 0.1);
    }
}
