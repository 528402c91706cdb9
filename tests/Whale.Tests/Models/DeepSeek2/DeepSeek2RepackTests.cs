using Whale.Engine;
using Whale.Gguf;
using Whale.Kernels.Quant;
using Whale.Models.DeepSeek2;

namespace Whale.Tests.Models.DeepSeek2;

/// <summary>
/// deepseek2 Q8_0 files with their weights repacked at load (experts, shared experts, MLA products, the MTP block)
/// give the logits of the same file read in place within float rounding (the repacked products sum in another order,
/// <see cref="TileQ8_0Repacked"/>), deterministically; disposing the model frees the copies.
/// </summary>
[Collection(DeepSeek2Collection.Name)]
public class DeepSeek2RepackTests(DeepSeek2Fixture fx)
{
    private static WhaleModel Load(string path, bool repack) =>
        WhaleModel.Load(path, new ModelOptions { Threads = 2, BatchSize = 32, RepackWeights = repack });

    [Theory]
    [InlineData("v3-tiny", false)]
    [InlineData("v2-lite-tiny", false)]
    [InlineData("v2-lite-tiny", true)]
    public void RepackedLogitsMatchInPlaceLogits(string preset, bool legacy)
    {
        string path = fx.Get(preset, GgmlType.Q8_0, legacy);
        using var packed = Load(path, repack: true);
        using var inPlace = Load(path, repack: false);
        var mp = Assert.IsType<DeepSeek2Model>(packed.Model);
        var mi = Assert.IsType<DeepSeek2Model>(inPlace.Model);
        Assert.Equal(TileQ8_0Repacked.IsSupported, mp.Matrices().Any(m => m.IsRepacked));
        Assert.DoesNotContain(mi.Matrices(), m => m.IsRepacked);
        var tokens = packed.Tokenizer.Encode(DeepSeek2Fixture.Prompt, addSpecial: true, parseSpecial: true)[..40];
        var a = Run(mp, tokens);
        var b = Run(mi, tokens);
        double rel = Parity.MaxRelativeDiff(a, b);
        Assert.True(rel <= Tolerance, $"max|diff|/max|logit| = {rel:E2}");
        Assert.Equal(a, Run(mp, tokens));   // deterministic
    }

    /// <summary>max|diff|/max|logit| allowed between repacked and in-place models (MoE amplifies a rounding difference whenever it flips an expert choice).</summary>
    private const double Tolerance = 3e-2;

    /// <summary>All logits of the prompt (micro-batches of 32 and 8 rows: tiles), then of 4 single-token steps (gemv).</summary>
    internal static float[] Run(DeepSeek2Model m, int[] prompt)
    {
        int V = m.Config.VocabSize;
        var cache = m.CreateCache(64);
        var logits = new float[(prompt.Length + 4) * V];
        m.Forward(prompt, cache, logits.AsSpan(0, prompt.Length * V), allLogits: true);
        for (int i = 0; i < 4; i++)
            m.Forward([prompt[i + 3]], cache, logits.AsSpan((prompt.Length + i) * V, V));
        return logits;
    }

    [Fact]
    public void DisposeFreesTheRepackedWeightsOfTheMtpBlockToo()
    {
        if (!TileQ8_0Repacked.IsSupported) return;
        using var file = GgufFile.Open(fx.GetWithMtp("v3-tiny", GgmlType.Q8_0));
        var model = new DeepSeek2Model(file, maxBatch: 8, repackWeights: true);
        Assert.True(model.HasMtp);
        var matrices = model.Matrices().ToList();
        Assert.Contains(matrices, m => m.IsRepacked);
        Assert.All(matrices.Where(m => m.Type == GgmlType.Q8_0 && m.Cols % 32 == 0).Skip(1), m => Assert.True(m.IsRepacked));
        model.Dispose();
        Assert.All(matrices, m => Assert.False(m.IsRepacked));
    }
}
