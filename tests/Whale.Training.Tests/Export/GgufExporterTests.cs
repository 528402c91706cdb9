using Whale.Engine;
using Whale.Gguf;
using Whale.Tokenization;
using Whale.Training.Data;
using Whale.Training.Export;
using Whale.Training.Model;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Whale.Training.Tests.Export;

public sealed class GgufExporterTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("whale-train-export").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void RoundTripNamesShapesMetadata()
    {
        var model = TestModels.Model(3);
        var c = model.Config;
        string path = Path.Combine(_dir, "m.gguf");
        var names = GgufExporter.Export(model, TestModels.Vocab, path);
        using var f = GgufFile.Open(path);
        Assert.Equal("deepseek2", f.Architecture);
        Assert.Equal(names, f.Tensors.Select(t => t.Name).ToList());
        long Key(string k) => f.GetValue("deepseek2." + k).AsInt64();
        Assert.Equal(c.Layers + 1, Key("block_count"));
        Assert.Equal(1, Key("nextn_predict_layers"));
        Assert.Equal(c.KvLoraRank + c.QkRope, Key("attention.key_length"));
        Assert.Equal(c.QkHead, Key("attention.key_length_mla"));
        Assert.Equal(c.VHead, Key("attention.value_length_mla"));
        Assert.Equal(2, Key("expert_gating_func"));
        Assert.Equal(c.QLoraRank, Key("attention.q_lora_rank"));
        Assert.Equal(c.ExpertGroups, Key("expert_group_count"));
        long[] Shape(string n) => f.Tensors.Single(t => t.Name == n).Shape;
        Assert.Equal(new long[] { c.Embed, c.VocabSize }, Shape("token_embd.weight"));
        Assert.Equal(new long[] { c.QkNope, c.KvLoraRank, c.Heads }, Shape("blk.1.attn_k_b.weight"));
        Assert.Equal(new long[] { c.KvLoraRank, c.VHead, c.Heads }, Shape("blk.1.attn_v_b.weight"));
        Assert.Equal(new long[] { c.Embed, c.ExpertFfn, c.Experts }, Shape("blk.1.ffn_gate_exps.weight"));
        Assert.Equal(new long[] { c.ExpertFfn, c.Embed, c.Experts }, Shape("blk.1.ffn_down_exps.weight"));
        Assert.Equal(new long[] { c.Experts }, Shape("blk.1.exp_probs_b.bias"));
        Assert.Equal(new long[] { c.Embed, c.Ffn }, Shape("blk.0.ffn_gate.weight"));
        Assert.Equal(new long[] { 2L * c.Embed, c.Embed }, Shape($"blk.{c.Layers}.nextn.eh_proj.weight"));
        Assert.Contains($"blk.{c.Layers}.ffn_gate_inp.weight", names);
        Assert.DoesNotContain(names, n => n.Contains("attn_kv_b", StringComparison.Ordinal));
        // k_b is stored transposed per head: GGUF element (d, c, h) = torch k_b[h, d, c]
        var data = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f.GetTensorSpan(f.Tensors.Single(t => t.Name == "blk.1.attn_k_b.weight")));
        var kb = model.blocks[1].attn.k_b;
        int h = 1, d = 3, cc = 5;
        Assert.Equal(kb[h, d, cc].item<float>(), data[(h * c.KvLoraRank + cc) * c.QkNope + d]);
        var v = VocabData.FromGguf(f);
        Assert.Equal(TestModels.Vocab.Tokens, v.Tokens);
        Assert.Equal(R1ChatTemplate.Text, v.ChatTemplate);
        var noMtp = GgufExporter.Export(model, TestModels.Vocab, Path.Combine(_dir, "nomtp.gguf"), includeMtp: false);
        Assert.DoesNotContain(noMtp, n => n.StartsWith($"blk.{c.Layers}.", StringComparison.Ordinal));
    }

    /// <summary>
    /// TorchSharp forward logits against Whale's engine on the exported F32 file, last position of several prefixes.
    /// Whale keeps the MLA cache in F16 (as llama.cpp does), so the latent and rope key are rounded to F16: ~1e-3 of
    /// the logit range (measured 1.7e-4 to 2.3e-4). The bias is non-zero so selection differs from the scores, and groups are on.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TorchLogitsMatchWhale(bool qLora)
    {
        var model = TestModels.Model(4, c => qLora ? c : c with { QLoraRank = 0 });
        using (no_grad())
            foreach (var moe in model.MoeLayers()) moe.exp_probs_b.copy_(randn(moe.exp_probs_b.shape) * 0.05f);
        string path = Path.Combine(_dir, $"parity-{qLora}.gguf");
        GgufExporter.Export(model, TestModels.Vocab, path);
        var enc = new TaskEncoder(TestModels.Tokenizer);
        var problem = new TaskGenerator(8).Next(TaskKind.Countdown, heldOut: false);
        var ids = enc.Chat(problem).Ids;
        model.eval();
        Tensor logits;
        using (no_grad()) logits = model.Forward(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0)).Logits[0];
        using var whale = WhaleModel.Load(path, new ModelOptions { Threads = 2 });
        Assert.Equal(TinyDeepSeekConfig.Smoke(1).Heads, whale.Config.NumHeads);
        using var gen = whale.CreateGenerator(256);
        double worst = 0;
        foreach (int len in new[] { 1, 7, ids.Length / 2, ids.Length })
        {
            var ours = gen.Evaluate(ids[..len]);
            var theirs = logits[len - 1].data<float>().ToArray();
            double maxAbs = theirs.Max(Math.Abs), maxDiff = 0;
            for (int i = 0; i < theirs.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs(ours[i] - theirs[i]));
            worst = Math.Max(worst, maxDiff / maxAbs);
            Assert.Equal(Array.IndexOf(theirs, theirs.Max()), Array.IndexOf(ours, ours.Max()));
        }
        output.WriteLine($"qLora={qLora}: {ids.Length} tokens, worst max|diff|/max|logit| = {worst:E2}");
        Assert.True(worst < 1e-3, $"max|diff|/max|logit| = {worst:E2}");
    }
}
