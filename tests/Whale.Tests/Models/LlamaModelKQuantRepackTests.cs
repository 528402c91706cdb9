using Whale.Engine;
using Whale.Gguf;
using Whale.Kernels;
using Whale.Kernels.Quant;
using Whale.Models;
using Whale.Models.Paged;
using Whale.Tests.TestData;

namespace Whale.Tests.Models;

/// <summary>
/// Q8_0, Q4_K_M (Q4_K and Q6_K matrices) and Q5_K files with their weights repacked at load (<see cref="TileQ8_0Repacked"/>,
/// <see cref="TileQ4_KRepacked"/>, <see cref="TileQ5_KRepacked"/>, <see cref="TileQ6_KRepacked"/>, row-lane order): logits
/// within float rounding of the same file read in place, every matrix but the looked-up embedding table repacked,
/// batch-independent paged steps, and the K-quant copies freed with the model. Against llama.cpp: LlamaParityTests.
/// </summary>
public class LlamaModelKQuantRepackTests
{
    private static bool Supported => TileQ8_0Repacked.IsSupported && TileQ4_KRepacked.IsSupported && TileQ5_KRepacked.IsSupported && TileQ6_KRepacked.IsSupported;

    /// <summary>All logits of a 21-token prompt (tiles), then of 6 single-token steps (batch 1).</summary>
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
    [InlineData("qwen2", "tiny", GgmlType.Q4_K, true)]
    [InlineData("llama", "small", GgmlType.Q4_K, true)]
    [InlineData("qwen2", "tiny", GgmlType.Q5_K, false)]
    [InlineData("qwen2", "tiny", GgmlType.Q8_0, false)]
    [InlineData("llama", "small", GgmlType.Q8_0, false)]
    public void RepackedLogitsMatchInPlaceLogits(string arch, string preset, GgmlType type, bool mixed)
    {
        string path = SyntheticModels.Get(arch, type, preset, mixed);
        using var file = GgufFile.Open(path);
        using var pool = new WorkerPool(2);
        using var packed = new LlamaModel(file, pool, maxBatch: 32, repackWeights: true);
        using var inPlace = new LlamaModel(file, pool, maxBatch: 32, repackWeights: false);
        var matrices = packed.Matrices().ToList();
        Assert.Contains(matrices, m => m.Type == type);
        if (mixed) Assert.Contains(matrices, m => m.Type == GgmlType.Q6_K);
        // every matrix but the embedding table (looked up only; these files have their own output matrix)
        Assert.False(matrices[0].IsRepacked);
        Assert.All(matrices.Skip(1), m => Assert.Equal(Supported, m.IsRepacked));
        // as many bytes as the rows, in groups of 8 (the last one padded), each rounded up to a multiple of 64 bytes
        Assert.All(matrices.Skip(1), m => Assert.Equal(Supported ? (m.Rows + 7) / 8 * ((8 * m.RowBytes + 63) & ~63L) : 0, m.RepackedBytes));
        Assert.DoesNotContain(inPlace.Matrices(), m => m.IsRepacked);
        int[] prompt = [.. Enumerable.Range(0, 21).Select(i => (i * 97 + 5) % packed.Config.VocabSize)];
        var a = Run(packed, prompt, 6);
        var b = Run(inPlace, prompt, 6);
        double rel = Parity.MaxRelativeDiff(a, b);
        Assert.True(rel <= LlamaModelRepackTests.RepackTolerance, $"max|diff|/max|logit| = {rel:E2}");
        if (Supported) Assert.True(rel > 0, "repacked and in-place products sum in different orders: some logit should differ");
        Assert.Equal(a.Select(BitConverter.SingleToInt32Bits), Run(packed, prompt, 6).Select(BitConverter.SingleToInt32Bits));   // deterministic
    }

    /// <summary>
    /// Continuous batching on a Q8_0 and a Q4_K_M file: three sequences in one paged step (prompts of 12 and 5 tokens and a single
    /// token: 18 activation rows) give each sequence the logits it gets in a step of its own, bit for bit, repacked
    /// (one kernel for every batch) and in place (llama.cpp's vec_dot order for every batch).
    /// </summary>
    [Theory]
    [InlineData(GgmlType.Q4_K, true, true)]
    [InlineData(GgmlType.Q4_K, true, false)]
    [InlineData(GgmlType.Q8_0, false, true)]
    [InlineData(GgmlType.Q8_0, false, false)]
    public void PagedBatchedStepEqualsEachSequenceAlone(GgmlType type, bool mixed, bool repack)
    {
        string path = SyntheticModels.Get("qwen2", type, mixed: mixed);
        using var file = GgufFile.Open(path);
        using var pool = new WorkerPool(2);
        using var llama = new LlamaModel(file, pool, maxBatch: 32, repackWeights: repack);
        Assert.Equal(repack && Supported, llama.Matrices().Any(m => m.IsRepacked));
        IPagedModel model = llama;
        int V = model.Config.VocabSize;
        int[][] seqs = [[.. Enumerable.Range(0, 12).Select(i => (i * 13 + 1) % V)], [.. Enumerable.Range(0, 5).Select(i => (i * 29 + 3) % V)], [42]];
        var cache = model.CreatePagedCache(numBlocks: 8, blockSize: 16);
        var batch = new PagedBatch();
        for (int s = 0; s < seqs.Length; s++) batch.Add(seqs[s], 0, seqs[s].Length, [s], wantLogits: true);
        var together = new float[batch.LogitRows * V];
        model.ForwardPaged(batch, cache, together);
        for (int s = 0; s < seqs.Length; s++)
        {
            var alone = new PagedBatch();
            alone.Add(seqs[s], 0, seqs[s].Length, [3 + s], wantLogits: true);
            var logits = new float[alone.LogitRows * V];
            model.ForwardPaged(alone, model.CreatePagedCache(numBlocks: 8, blockSize: 16), logits);
            Assert.Equal(logits.Select(BitConverter.SingleToInt32Bits), together.AsSpan(s * V, V).ToArray().Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void DisposeFreesTheRepackedKQuantWeights()
    {
        if (!Supported) return;
        using var file = GgufFile.Open(SyntheticModels.Get("qwen2", GgmlType.Q4_K, mixed: true));
        var model = new LlamaModel(file, maxBatch: 8, repackWeights: true);
        var matrices = model.Matrices().ToList();
        Assert.All(matrices.Skip(1), m => Assert.True(m.IsRepacked));
        model.Dispose();
        Assert.All(matrices, m => Assert.False(m.IsRepacked));
        Assert.All(matrices, m => Assert.Equal(0, m.RepackedBytes));
    }
}
