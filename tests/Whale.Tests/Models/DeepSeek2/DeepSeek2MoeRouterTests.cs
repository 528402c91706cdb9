using Whale.Models.DeepSeek2;

namespace Whale.Tests.Models.DeepSeek2;

/// <summary>DeepSeekMoE routing on hand-made router logits.</summary>
public class DeepSeek2MoeRouterTests
{
    private static (int[] Selected, float[] Weights) Route(MoeRouter router, float[] logits, float[]? bias = null)
    {
        int n = logits.Length;
        var sel = new int[router.Used];
        var w = new float[router.Used];
        router.Route(logits, bias ?? [], new float[n], new float[n], sel, w);
        return (sel, w);
    }

    private static float Sigmoid(float x) => 1.0f / (1.0f + MathF.Exp(-x));

    [Fact]
    public void GroupsWithTheBestTopTwoSumsAreKeptOthersMasked()
    {
        // 4 groups of 2. The single best expert (0) sits in a group whose top-2 sum is poor, so it is masked.
        float[] logits = [3.0f, -5.0f, 1.0f, 0.9f, 0.5f, 0.6f, -1.0f, -1.0f];
        var router = new MoeRouter(ExpertGating.Sigmoid, 8, 2, groups: 4, groupsUsed: 2);
        var (sel, w) = Route(router, logits);
        Assert.Equal([2, 3], sel);
        Assert.Equal(Sigmoid(1.0f), w[0]);
        Assert.Equal(Sigmoid(0.9f), w[1]);

        // three experts from the two kept groups (1 and 2), best first
        var (sel3, _) = Route(new MoeRouter(ExpertGating.Sigmoid, 8, 3, groups: 4, groupsUsed: 2), logits);
        Assert.Equal([2, 3, 5], sel3);

        // without groups expert 0 wins
        var (plain, _) = Route(new MoeRouter(ExpertGating.Sigmoid, 8, 2), logits);
        Assert.Equal([0, 2], plain);
    }

    [Fact]
    public void BiasSteersSelectionButWeightsStayUnbiased()
    {
        float[] logits = [2.0f, 1.0f, 0.0f, -1.0f];
        float[] bias = [0f, 0f, 0f, 5f];
        var (sel, w) = Route(new MoeRouter(ExpertGating.Sigmoid, 4, 2), logits, bias);
        Assert.Equal([3, 0], sel);
        Assert.Equal(Sigmoid(-1.0f), w[0]);
        Assert.Equal(Sigmoid(2.0f), w[1]);
    }

    [Fact]
    public void BiasCountsInGroupScores()
    {
        // group 1's bias lifts its top-2 sum above group 0's
        float[] logits = [2.0f, 2.0f, 0.0f, 0.0f, -3.0f, -3.0f];
        float[] bias = [0f, 0f, 1f, 1f, 0f, 0f];
        var (sel, w) = Route(new MoeRouter(ExpertGating.Sigmoid, 6, 2, groups: 3, groupsUsed: 1), logits, bias);
        Assert.Equal([2, 3], sel);
        Assert.Equal(0.5f, w[0]);
    }

    [Fact]
    public void WeightsNormalizedThenScaled()
    {
        float[] logits = [2.0f, 1.0f, 0.0f, -1.0f, 0.5f];
        var (sel, w) = Route(new MoeRouter(ExpertGating.Sigmoid, 5, 3, normalize: true, scale: 2.5f), logits);
        Assert.Equal([0, 1, 4], sel);
        float s = Sigmoid(2.0f) + Sigmoid(1.0f) + Sigmoid(0.5f);
        Assert.Equal(2.5, w.Sum(), 5);
        Assert.Equal(Sigmoid(2.0f) / s * 2.5f, w[0], 6);
        Assert.Equal(Sigmoid(0.5f) / s * 2.5f, w[2], 6);
    }

    [Fact]
    public void SoftmaxGatingWithoutNormalizationKeepsProbabilities()
    {
        float[] logits = [1.0f, 3.0f, 2.0f, 0.0f];
        double z = logits.Sum(v => Math.Exp(v));
        var (sel, w) = Route(new MoeRouter(ExpertGating.Softmax, 4, 2, scale: 1.0f), logits);
        Assert.Equal([1, 2], sel);
        Assert.Equal(Math.Exp(3) / z, w[0], 6);
        Assert.Equal(Math.Exp(2) / z, w[1], 6);
        // a scale other than 0/1 multiplies
        var (_, w16) = Route(new MoeRouter(ExpertGating.Softmax, 4, 2, scale: 16f), logits);
        Assert.Equal(16 * Math.Exp(3) / z, w16[0], 5);
    }

    [Fact]
    public void RejectsInconsistentGroups()
    {
        Assert.Throws<ArgumentException>(() => new MoeRouter(ExpertGating.Sigmoid, 8, 2, groups: 3, groupsUsed: 1));
        Assert.Throws<ArgumentException>(() => new MoeRouter(ExpertGating.Sigmoid, 8, 2, groups: 4, groupsUsed: 4));
        Assert.Throws<ArgumentException>(() => new MoeRouter(ExpertGating.Sigmoid, 8, 5, groups: 4, groupsUsed: 2));
    }
}
