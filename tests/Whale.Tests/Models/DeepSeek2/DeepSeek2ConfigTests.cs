using Whale.Gguf;
using Whale.Kernels;
using Whale.Models;
using Whale.Models.DeepSeek2;

namespace Whale.Tests.Models.DeepSeek2;

/// <summary>deepseek2 metadata (both file generations), the softmax-scale/YaRN convention and the YaRN rope.</summary>
[Collection(DeepSeek2Collection.Name)]
public class DeepSeek2ConfigTests(DeepSeek2Fixture fx)
{
    [Fact]
    public void ReadsV3LikeFileInBothLayouts()
    {
        foreach (bool legacy in new[] { false, true })
        {
            using var f = GgufFile.Open(fx.Get("v3-tiny", GgmlType.F32, legacy));
            var c = DeepSeek2Config.FromGguf(f);
            Assert.Equal(!legacy, c.SplitKvB);
            Assert.Equal((3, 256, 4, 128, 128), (c.NumLayers, c.EmbedDim, c.NumHeads, c.QLoraRank, c.KvLoraRank));
            Assert.Equal((32, 16, 32), (c.QkNopeDim, c.QkRopeDim, c.VHeadDim));
            Assert.Equal((16, 4, 1, 1), (c.ExpertCount, c.ExpertUsedCount, c.SharedExpertCount, c.LeadingDenseLayers));
            Assert.Equal((4, 2), (c.ExpertGroupCount, c.ExpertGroupUsedCount));
            Assert.Equal(ExpertGating.Sigmoid, c.Gating);
            Assert.True(c.ExpertWeightsNorm);
            Assert.Equal(2.5f, c.ExpertWeightsScale);
            Assert.True(c.Yarn);
            Assert.Equal(1f / 40, c.RopeFreqScale);
            Assert.Equal(1.0f, c.YarnLogMultiplier, 5);   // stored 0.1, divided by 0.1
            var generic = ModelConfig.FromGguf(f);
            Assert.Equal("deepseek2", generic.Architecture);
            Assert.Equal(c.KqScale, generic.AttentionScale);
            Assert.Equal(144, generic.KvDim);
        }
    }

    [Fact]
    public void ReadsV2LiteLikeFile()
    {
        using var f = GgufFile.Open(fx.Get("v2-lite-tiny", GgmlType.F32));
        var c = DeepSeek2Config.FromGguf(f);
        Assert.Equal(0, c.QLoraRank);
        Assert.Equal(ExpertGating.Softmax, c.Gating);
        Assert.False(c.ExpertWeightsNorm);
        Assert.False(c.GroupLimitedRouting);
        Assert.Equal(0.707f, c.YarnLogMultiplier, 5);
        Assert.Equal(2, c.SharedExpertCount);
    }

    /// <summary>kq_scale = mscale^2 / sqrt(192), mscale = 1 + 0.1 * mscale_all_dim * ln 40 (MODEL-SPEC 3.4).</summary>
    [Fact]
    public void KqScaleFollowsTheDeepSeek2YarnConvention()
    {
        using var f3 = GgufFile.Open(fx.Get("v3-tiny", GgmlType.F32));
        using var f2 = GgufFile.Open(fx.Get("v2-lite-tiny", GgmlType.F32));
        var v3 = DeepSeek2Config.FromGguf(f3) with { QkNopeDim = 128, QkRopeDim = 64 };
        var lite = DeepSeek2Config.FromGguf(f2) with { QkNopeDim = 128, QkRopeDim = 64 };
        Assert.Equal(0.1352338, v3.KqScale, 6);
        Assert.Equal(0.1147214, lite.KqScale, 6);
        // the rope's own magnitude factor is cancelled: attn_factor x (1 + 0.1 ln 40) = 1
        Assert.Equal(1.0, v3.RopeAttnFactor * (1 + 0.1 * Math.Log(40)), 6);
        var plain = v3 with { Yarn = false, RopeFreqScale = 1f, RopeAttnFactor = 1f };
        Assert.Equal(1 / Math.Sqrt(192), plain.KqScale, 7);
    }

    /// <summary>YaRN angles for the real head (Dr 64, factor 40, original context 4096): corr dims 10..23, unit magnitude.</summary>
    [Fact]
    public void YarnRopeMatchesTheFormula()
    {
        using var f = GgufFile.Open(fx.Get("v3-tiny", GgmlType.F32));
        var c = DeepSeek2Config.FromGguf(f) with { QkNopeDim = 128, QkRopeDim = 64 };
        var rope = c.CreateRope();
        var cos = new float[32];
        var sin = new float[32];
        foreach (int pos in new[] { 1, 77, 1000, 5000 })
        {
            rope.Angles(pos, cos, sin);
            for (int k = 0; k < 32; k++)
            {
                double extrap = pos * Math.Pow(10000, -2.0 * k / 64), interp = extrap / 40;
                double ramp = 1 - Math.Clamp((k - 10) / 13.0, 0, 1);
                double theta = interp * (1 - ramp) + extrap * ramp;
                Assert.Equal(Math.Cos(theta), cos[k], 3);
                Assert.Equal(Math.Sin(theta), sin[k], 3);
            }
        }
    }
}
