using Whale.Training.Data;
using Whale.Training.Export;
using Whale.Training.Model;
using static TorchSharp.torch;

namespace Whale.Training.Tests.Export;

public sealed class GgufImporterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("whale-train-import").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor Logits(DeepSeekV3Model model, int[] ids)
    {
        model.eval();
        using var _ = no_grad();
        var t = tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);
        var (logits, hidden) = model.Forward(t);
        return cat([logits.flatten(), model.ForwardMtp(t, hidden).flatten()]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ExportImportGivesTheSameModel(bool qLora)
    {
        var a = TestModels.Model(21, c => qLora ? c : c with { QLoraRank = 0 });
        using (no_grad())
            foreach (var moe in a.MoeLayers()) moe.exp_probs_b.copy_(randn(moe.exp_probs_b.shape) * 0.05f);
        string path = Path.Combine(_dir, $"a-{qLora}.gguf");
        GgufExporter.Export(a, TestModels.Vocab, path);

        var b = TestModels.Model(22, c => qLora ? c : c with { QLoraRank = 0 });
        var ids = new TaskEncoder(TestModels.Tokenizer).Chat(new TaskGenerator(3).Next(TaskKind.Countdown, heldOut: false)).Ids;
        Assert.NotEqual(0f, (Logits(a, ids) - Logits(b, ids)).abs().max().item<float>());
        int n = GgufImporter.Import(b, TestModels.Vocab, path);
        Assert.Equal(a.parameters().Count() + a.MoeLayers().Count(), n); // every parameter plus each routing bias
        // bit-identical: main and MTP logits, every parameter and the routing bias (k_b went through its transpose twice)
        Assert.Equal(0f, (Logits(a, ids) - Logits(b, ids)).abs().max().item<float>());
        foreach (var ((na, pa), (_, pb)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.True(pa.eq(pb).all().item<bool>(), na);
        foreach (var (ma, mb) in a.MoeLayers().Zip(b.MoeLayers()))
            Assert.True(ma.exp_probs_b.eq(mb.exp_probs_b).all().item<bool>());
        string again = Path.Combine(_dir, $"b-{qLora}.gguf");
        GgufExporter.Export(b, TestModels.Vocab, again);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(again));
    }

    [Fact]
    public void MismatchesAreClearErrors()
    {
        var a = TestModels.Model(23);
        string path = Path.Combine(_dir, "m.gguf");
        GgufExporter.Export(a, TestModels.Vocab, path);
        // another vocabulary
        var other = TaskTokenizer.Build(40, seed: 9, corpusProblems: 300);
        var e1 = Assert.Throws<InvalidDataException>(() => GgufImporter.Import(a, other, path));
        Assert.Contains("vocabulary", e1.Message, StringComparison.Ordinal);
        // another shape
        var wide = TestModels.Model(24, c => c with { Ffn = c.Ffn * 2 });
        var e2 = Assert.Throws<InvalidDataException>(() => GgufImporter.Import(wide, TestModels.Vocab, path));
        Assert.Contains("blk.0.ffn_gate.weight", e2.Message, StringComparison.Ordinal);
        // no MTP block in the file
        string noMtp = Path.Combine(_dir, "nomtp.gguf");
        GgufExporter.Export(a, TestModels.Vocab, noMtp, includeMtp: false);
        var e3 = Assert.Throws<InvalidDataException>(() => GgufImporter.Import(a, TestModels.Vocab, noMtp));
        Assert.Contains("MTP", e3.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => GgufImporter.Import(a, TestModels.Vocab, Path.Combine(_dir, "missing.gguf")));
    }
}
