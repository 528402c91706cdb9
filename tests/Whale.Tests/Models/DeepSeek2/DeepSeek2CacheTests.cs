using System.Runtime.InteropServices;
using Whale.Engine;
using Whale.Gguf;
using Whale.Models;
using Whale.Models.DeepSeek2;
using Whale.Tests.LlamaCpp;
using Xunit.Abstractions;

namespace Whale.Tests.Models.DeepSeek2;

/// <summary>The MLA cache holds only [normalized latent | rotated rope key] per token and layer, and batching does not change results.</summary>
[Collection(DeepSeek2Collection.Name)]
public class DeepSeek2CacheTests(DeepSeek2Fixture fx, ITestOutputHelper output)
{
    [Theory]
    [InlineData("v3-tiny", false)]
    [InlineData("v3-tiny", true)]
    [InlineData("v2-lite-tiny", false)]
    public void CacheIsLatentPlusRopeKeyOnly(string preset, bool legacy)
    {
        using var model = WhaleModel.Load(fx.Get(preset, GgmlType.F32, legacy), new ModelOptions { Threads = 2 });
        var ds = Assert.IsType<DeepSeek2Model>(model.Model).DeepSeekConfig;
        var cache = model.Model.CreateCache(100);
        Assert.False(cache.HasValues);
        Assert.Equal(ds.KvLoraRank + ds.QkRopeDim, cache.KvDim);
        // layers x (kv_lora_rank + rope dim) x 2 bytes per token
        Assert.Equal(3L * (128 + 16) * 2, ds.KvBytesPerToken);
        Assert.Equal(ds.KvBytesPerToken * 100, cache.Bytes);
        // full multi-head K (Dn + Dr) and V (Dv) per head would take layers x H x (48 + 32) x 2
        Assert.Equal(3L * 4 * (48 + 32) * 2, ds.MultiHeadKvBytesPerToken);
    }

    /// <summary>Layer 0's cache rows recomputed independently in double precision from the file's F32 weights (YaRN rope by formula).</summary>
    [Fact]
    public void CacheRowsHoldNormalizedLatentAndRotatedRopeKey()
    {
        string path = fx.Get("v3-tiny", GgmlType.F32);
        using var model = WhaleModel.Load(path, new ModelOptions { Threads = 2 });
        var ds = ((DeepSeek2Model)model.Model).DeepSeekConfig;
        int[] tokens = [0, 17, 300, 1200, 5, 999, 42];
        var cache = model.Model.CreateCache(64);
        model.Model.Forward(tokens, cache, new float[ds.VocabSize]);
        Assert.Equal(tokens.Length, cache.Length);

        var f = model.File;
        float[] T(string name) => MemoryMarshal.Cast<byte, float>(f.GetTensorSpan(f.GetTensor(name))).ToArray();
        int E = ds.EmbedDim, C = ds.KvLoraRank, Dr = ds.QkRopeDim, R = C + Dr;
        var embd = T("token_embd.weight");
        var attnNorm = T("blk.0.attn_norm.weight");
        var wkv = T("blk.0.attn_kv_a_mqa.weight");
        var kvNorm = T("blk.0.attn_kv_a_norm.weight");
        double eps = ds.RmsEps;
        // YaRN (factor 40, original context 4096, beta 32/1, base 1e4), NORM pairs, unit magnitude
        double factor = 1.0 / ds.RopeFreqScale, baseF = ds.RopeBase;
        double CorrDim(double rot) => Dr * Math.Log(ds.RopeOrigContext / (rot * 2 * Math.PI)) / (2 * Math.Log(baseF));
        double low = Math.Max(0, Math.Floor(CorrDim(32))), high = Math.Min(Dr - 1, Math.Ceiling(CorrDim(1)));

        for (int p = 0; p < tokens.Length; p++)
        {
            var x = embd.AsSpan(tokens[p] * E, E).ToArray();
            double ms = x.Sum(v => (double)v * v) / E;
            var h = x.Select((v, i) => v / Math.Sqrt(ms + eps) * attnNorm[i]).ToArray();
            var kv = new double[R];
            for (int r = 0; r < R; r++) { double s = 0; for (int i = 0; i < E; i++) s += wkv[r * E + i] * h[i]; kv[r] = s; }
            double ml = kv.Take(C).Sum(v => v * v) / C;
            var expected = new double[R];
            for (int i = 0; i < C; i++) expected[i] = kv[i] / Math.Sqrt(ml + eps) * kvNorm[i];
            for (int k = 0; k < Dr / 2; k++)
            {
                double extrap = p * Math.Pow(baseF, -2.0 * k / Dr), interp = extrap / factor;
                double ramp = 1 - Math.Clamp((k - low) / Math.Max(0.001, high - low), 0, 1);
                double theta = interp * (1 - ramp) + extrap * ramp;
                double x0 = kv[C + 2 * k], x1 = kv[C + 2 * k + 1];
                expected[C + 2 * k] = x0 * Math.Cos(theta) - x1 * Math.Sin(theta);
                expected[C + 2 * k + 1] = x0 * Math.Sin(theta) + x1 * Math.Cos(theta);
            }
            var row = cache.K(0, p, 1);
            for (int i = 0; i < R; i++)
                Assert.True(Math.Abs((double)row[i] - expected[i]) <= 1e-3 * Math.Abs(expected[i]) + 1e-4,
                    $"position {p} value {i}: cache {(double)row[i]} expected {expected[i]}");
        }
    }

    /// <summary>
    /// Decoding one token at a time through the cache reproduces llama.cpp decoding one token at a time (micro-batch 1)
    /// bit for bit, and differs from batch processing (several 64-token micro-batches) exactly as much as llama.cpp's
    /// own batch and single-token results differ (batches use tinyBLAS summation order, single tokens vec_dot order;
    /// MoE amplifies the rounding differences). Weights read in place: repacked Q8_0 sums in its own order.
    /// </summary>
    [Theory]
    [InlineData("v3-tiny", GgmlType.F16)]
    [InlineData("v3-tiny", GgmlType.Q8_0)]
    [InlineData("v2-lite-tiny", GgmlType.Q8_0)]
    public void TokenByTokenMatchesLlamaCppAndBatch(string preset, GgmlType type)
    {
        string path = fx.Get(preset, type);
        using var model = WhaleModel.Load(path, new ModelOptions { Threads = 2, BatchSize = 64, RepackWeights = false });
        var tokens = model.Tokenizer.Encode(DeepSeek2Fixture.Prompt, addSpecial: true, parseSpecial: true);
        Assert.True(tokens.Length > 128);
        int V = model.Config.VocabSize;
        var batch = new float[V];
        var cacheA = model.Model.CreateCache(256);
        model.Model.Forward(tokens, cacheA, batch);
        var single = new float[V];
        var cacheB = model.Model.CreateCache(256);
        foreach (var t in tokens) model.Model.Forward([t], cacheB, single);
        Assert.Equal(tokens.Length, cacheB.Length);

        float[] cppSingle, cppBatch;
        using (var cpp = new LlamaCppReference(path, contextSize: 256, batchSize: 1)) cppSingle = cpp.Evaluate(tokens);
        using (var cpp = new LlamaCppReference(path, contextSize: 256, batchSize: 64)) cppBatch = cpp.Evaluate(tokens);
        double single2cpp = Parity.MaxRelativeDiff(single, cppSingle);
        double ours = Parity.MaxRelativeDiff(single, batch), theirs = Parity.MaxRelativeDiff(cppSingle, cppBatch);
        output.WriteLine($"{preset} {type}: single vs llama.cpp single {single2cpp:E2}; batch vs single: Whale {ours:E2}, llama.cpp {theirs:E2}");
        double tolerance = System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? 1e-5 : 3e-2;
        Assert.True(single2cpp <= tolerance, $"token by token vs llama.cpp token by token: {single2cpp:E2}");
        Assert.True(ours <= theirs * 1.01 + 1e-5, $"batch vs single: Whale {ours:E2}, llama.cpp {theirs:E2}");
        Assert.Equal(LlamaCppReference.ArgMax(batch), LlamaCppReference.ArgMax(single));
    }

    /// <summary>A legacy file (attn_kv_b split at load) and a current file with the same kv_b compute the same logits.</summary>
    [Theory]
    [InlineData("v3-tiny")]
    [InlineData("v2-lite-tiny")]
    public void LegacyAndSplitLayoutsAgree(string preset)
    {
        float[] Run(bool legacy)
        {
            using var model = WhaleModel.Load(fx.Get(preset, GgmlType.F32, legacy), new ModelOptions { Threads = 2, BatchSize = 64 });
            using var gen = model.CreateGenerator(512);
            return gen.Evaluate(model.Tokenizer.Encode(DeepSeek2Fixture.Prompt, addSpecial: true, parseSpecial: true));
        }
        double rel = Parity.MaxRelativeDiff(Run(true), Run(false));
        Assert.True(rel <= 1e-6, $"legacy vs split: {rel:E2}");
    }
}
