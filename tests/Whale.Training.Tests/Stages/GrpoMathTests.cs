using Whale.Training.Stages;
using static TorchSharp.torch;

namespace Whale.Training.Tests.Stages;

public class GrpoMathTests
{
    [Fact]
    public void AdvantagesAreGroupRelative()
    {
        // mean 0.5, population std 0.5
        var a = GrpoMath.Advantages([1f, 0f, 0f, 1f], eps: 0f);
        Assert.Equal([1f, -1f, -1f, 1f], a);
        // mean 1.2/4 = 0.3 ... rewards 1.2, 0, 0, 0: std = sqrt((0.9^2 + 3*0.3^2)/4) = sqrt(0.27) = 0.519615
        var b = GrpoMath.Advantages([1.2f, 0f, 0f, 0f], eps: 0f);
        Assert.Equal(0.9 / 0.519615, b[0], 4);
        Assert.Equal(-0.3 / 0.519615, b[1], 4);
        Assert.All(GrpoMath.Advantages([0.2f, 0.2f, 0.2f]), x => Assert.Equal(0f, x));
    }

    private static float Loss(float logp, float old, float refLp, float adv, float clip = 0.2f, float beta = 0f) =>
        GrpoMath.Loss(tensor(new[] { logp }).view(1, 1), tensor(new[] { old }).view(1, 1), tensor(new[] { refLp }).view(1, 1),
            tensor(new[] { adv }), ones(1, 1), clip, beta).item<float>();

    [Fact]
    public void ClippedSurrogateOnHandMadeNumbers()
    {
        // ratio = e^0.5 = 1.6487: a positive advantage is clipped at 1.2, a negative one is not (min keeps the worse)
        Assert.Equal(-1.2f, Loss(0.5f, 0f, 0.5f, 1f), 4);
        Assert.Equal(1.6487f, Loss(0.5f, 0f, 0.5f, -1f), 4);
        // ratio = e^-0.5 = 0.6065: a negative advantage is clipped at 0.8, a positive one is not
        Assert.Equal(0.8f, Loss(-0.5f, 0f, -0.5f, -1f), 4);
        Assert.Equal(-0.6065f, Loss(-0.5f, 0f, -0.5f, 1f), 4);
        // inside the trust region: plain ratio * A
        Assert.Equal(-2f * MathF.Exp(0.1f), Loss(0.1f, 0f, 0.1f, 2f), 4);
    }

    [Fact]
    public void KlPenaltyIsTheUnbiasedEstimator()
    {
        // d = ref - logp = -0.3: kl = e^-0.3 + 0.3 - 1 = 0.040818; advantage 0 leaves only beta * kl
        Assert.Equal(0.1f * 0.040818f, Loss(0f, 0f, -0.3f, 0f, beta: 0.1f), 5);
        Assert.Equal(0f, Loss(-1.7f, -1.7f, -1.7f, 0f, beta: 0.1f), 6);
    }

    [Fact]
    public void MaskAveragesPerCompletionThenOverGroup()
    {
        // two completions, ratio 1: seq 0 has 1 valid token (A = 1), seq 1 has 2 valid tokens (A = -1)
        var lp = zeros(2, 2);
        var mask = tensor(new float[] { 1, 0, 1, 1 }).view(2, 2);
        var loss = GrpoMath.Loss(lp, lp, lp, tensor(new[] { 1f, -1f }), mask, 0.2f, 0.04f).item<float>();
        Assert.Equal(0f, loss, 6); // -(1 + -1)/2
        var loss2 = GrpoMath.Loss(lp, lp, lp, tensor(new[] { 1f, 0f }), mask, 0.2f, 0.04f).item<float>();
        Assert.Equal(-0.5f, loss2, 6);
    }

    [Fact]
    public void DrGrpoAdvantagesAreNotScaled()
    {
        // Dr. GRPO: r - mean only; mean 0.3 for rewards 1.2, 0, 0, 0
        var a = GrpoMath.Advantages([1.2f, 0f, 0f, 0f], scaleByStd: false);
        Assert.Equal(0.9f, a[0], 5);
        Assert.Equal(-0.3f, a[1], 5);
        Assert.All(GrpoMath.Advantages([1f, 1f], scaleByStd: false), x => Assert.Equal(0f, x));
    }

    [Fact]
    public void DrGrpoSumsTokensOverAConstant()
    {
        // ratio 1: seq 0 has 1 valid token (A = 1), seq 1 has 2 valid tokens (A = -1); per-token surrogate = A
        var lp = zeros(2, 2);
        var mask = tensor(new float[] { 1, 0, 1, 1 }).view(2, 2);
        // sums 1 and -2, each / 4, mean over the two: (0.25 - 0.5) / 2 = -0.125, loss = 0.125
        var loss = GrpoMath.Loss(lp, lp, lp, tensor(new[] { 1f, -1f }), mask, 0.2f, 0.04f, tokenNorm: 4f).item<float>();
        Assert.Equal(0.125f, loss, 6);
        // the KL term is summed the same way: d = -0.3 on every valid token of one completion, 3 tokens, / 6
        var refLp = full(1, 3, -0.3f);
        var kl = GrpoMath.Loss(zeros(1, 3), zeros(1, 3), refLp, zeros(1), ones(1, 3), 0.2f, 0.1f, tokenNorm: 6f).item<float>();
        Assert.Equal(0.1f * 3 * 0.040818f / 6, kl, 6);
    }
}
