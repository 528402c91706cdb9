using Whale.Gguf;
using Whale.Kernels;
using Whale.Kernels.Quant;
using Whale.Models;
using Whale.Models.Paged;
using Whale.Tests.TestData;

namespace Whale.Tests.Models;

/// <summary>
/// A Q8_0 model with its weights repacked at load gives the same logits, bit for bit, as the same model reading its
/// rows in place: prompt (tiled products), single-token steps (gemv) and batched paged steps; and disposing the model
/// frees the copies.
/// </summary>
public class LlamaModelRepackTests
{
    private static float[] Run(LlamaModel model, int[] prompt, int steps)
    {
        int V = model.Config.VocabSize;
        var cache = model.CreateCache(64);
        var logits = new List<float>();
        var all = new float[prompt.Length * V];
        model.Forward(prompt, cache, all, allLogits: true);
        logits.AddRange(all);
        var one = new float[V];
        int token = prompt[^1];
        for (int i = 0; i < steps; i++)
        {
            token = (token * 31 + 7) % V;
            model.Forward([token], cache, one);
            logits.AddRange(one);
        }
        return [.. logits];
    }

    [Theory]
    [InlineData("qwen2", "tiny")]
    [InlineData("llama", "small")]
    public void RepackedLogitsEqualInPlaceLogits(string arch, string preset)
    {
        string path = SyntheticModels.Get(arch, GgmlType.Q8_0, preset);
        using var file = GgufFile.Open(path);
        using var pool = new WorkerPool(2);
        using var packed = new LlamaModel(file, pool, maxBatch: 32, repackWeights: true);
        using var inPlace = new LlamaModel(file, pool, maxBatch: 32, repackWeights: false);
        Assert.Equal(TileQ8_0Avx512.IsSupported, packed.Matrices().Any(m => m.IsRepacked));
        Assert.DoesNotContain(inPlace.Matrices(), m => m.IsRepacked);
        int[] prompt = [.. Enumerable.Range(0, 21).Select(i => (i * 97 + 5) % packed.Config.VocabSize)];
        var a = Run(packed, prompt, 6);
        var b = Run(inPlace, prompt, 6);
        Assert.Equal(b.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(a[i]) == BitConverter.SingleToInt32Bits(b[i]), $"logit {i}: {a[i]:R} vs {b[i]:R}");
    }

    [Fact]
    public void PagedBatchedStepsEqualInPlace()
    {
        string path = SyntheticModels.Get("qwen2", GgmlType.Q8_0);
        using var file = GgufFile.Open(path);
        using var pool = new WorkerPool(2);
        static float[] Step(IPagedModel m)
        {
            var cache = m.CreatePagedCache(numBlocks: 8, blockSize: 16);
            // three sequences in one step: a 12-token prompt, a 5-token prompt, a single token
            var batch = new PagedBatch();
            int V = m.Config.VocabSize;
            batch.Add([.. Enumerable.Range(0, 12).Select(i => (i * 13 + 1) % V)], 0, 12, [0], wantLogits: true);
            batch.Add([.. Enumerable.Range(0, 5).Select(i => (i * 29 + 3) % V)], 0, 5, [1], wantLogits: true);
            batch.Add([42], 0, 1, [2], wantLogits: true);
            var logits = new float[batch.LogitRows * V];
            m.ForwardPaged(batch, cache, logits);
            return logits;
        }
        using var packed = new LlamaModel(file, pool, maxBatch: 32, repackWeights: true);
        using var inPlace = new LlamaModel(file, pool, maxBatch: 32, repackWeights: false);
        Assert.Equal(Step(inPlace).Select(BitConverter.SingleToInt32Bits), Step(packed).Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void LoaderFreesWhatItRepackedWhenAModelFailsToLoad()
    {
        if (!TileQ8_0Avx512.IsSupported) return;
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
        if (!TileQ8_0Avx512.IsSupported) return;
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
