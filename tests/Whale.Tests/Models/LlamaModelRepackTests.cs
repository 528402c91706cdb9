using Whale.Gguf;
using Whale.Kernels;
using Whale.Kernels.Quant;
using Whale.Models;
using Whale.Models.Paged;
using Whale.Tests.TestData;

namespace Whale.Tests.Models;

/// <summary>
/// Repacking at load, model level: what the loader does when a model fails to load, and disposal. The logits and the
/// paged steps of repacked models are checked in <see cref="LlamaModelKQuantRepackTests"/> (Q8_0 and K-quant files).
/// </summary>
public class LlamaModelRepackTests
{
    /// <summary>max|diff|/max|logit| allowed between repacked and in-place models (measured 5.7e-3 qwen2, 9.4e-3 llama; llama.cpp's own repacked types are held to the same 2e-2 in the parity tests).</summary>
    internal const double RepackTolerance = 2e-2;

    [Fact]
    public void LoaderFreesWhatItRepackedWhenAModelFailsToLoad()
    {
        if (!TileQ8_0Repacked.IsSupported) return;
        using var file = GgufFile.Open(SyntheticModels.Get("qwen2", GgmlType.Q8_0));
        var w = new WeightLoader(file, repack: true);
        var c = ModelConfig.FromGguf(file);
        var q = w.Matrix("blk.0.attn_q.weight", c.EmbedDim, c.NumHeads * c.HeadDim);
        var embd = w.TryMatrix("token_embd.weight", c.EmbedDim, c.VocabSize, repackThis: false)!;
        Assert.True(q.IsRepacked);
        Assert.False(embd.IsRepacked);
        Assert.Throws<GgufException>(() => w.Matrix("blk.9.attn_q.weight", c.EmbedDim, c.NumHeads * c.HeadDim));
        w.DisposeRepacked();
        Assert.False(q.IsRepacked);
        Assert.Equal(0, q.RepackedBytes);
    }

    [Fact]
    public void DisposeFreesTheRepackedWeights()
    {
        if (!TileQ8_0Repacked.IsSupported) return;
        string path = SyntheticModels.Get("qwen2", GgmlType.Q8_0);
        using var file = GgufFile.Open(path);
        var model = new LlamaModel(file, maxBatch: 8, repackWeights: true);
        var matrices = model.Matrices().ToList();
        // the embedding table is looked up only (the tiny model has its own output matrix), everything else repacked
        Assert.False(matrices[0].IsRepacked);
        Assert.All(matrices.Skip(1), m => Assert.True(m.IsRepacked));
        Assert.True(matrices.Skip(1).All(m => m.RepackedBytes >= m.Rows * m.RowBytes));
        model.Dispose();
        Assert.All(matrices, m => Assert.False(m.IsRepacked));
        Assert.All(matrices, m => Assert.Equal(0, m.RepackedBytes));
    }
}
