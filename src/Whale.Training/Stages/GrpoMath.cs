using static TorchSharp.torch;

namespace Whale.Training.Stages;

/// <summary>
/// The GRPO objective (DeepSeekMath / DeepSeek-R1): advantages relative to the group, PPO-style clipped ratio, and the
/// unbiased KL estimator exp(ref - logp) - (ref - logp) - 1 to the reference model. Two normalisations: per
/// completion (GRPO: mean over its tokens, then over completions) or Dr. GRPO's (advantages not divided by the group's
/// std; token terms summed and divided by a constant, so long and short completions weigh the same per token).
/// </summary>
public static class GrpoMath
{
    /// <summary>
    /// r - mean over one group, divided by (population std + eps) when <paramref name="scaleByStd"/> (GRPO) or not
    /// (Dr. GRPO); all zero when every reward is equal.
    /// </summary>
    public static float[] Advantages(IReadOnlyList<float> rewards, float eps = 1e-4f, bool scaleByStd = true)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        double mean = rewards.Average();
        double std = Math.Sqrt(rewards.Sum(r => (r - mean) * (r - mean)) / rewards.Count);
        return rewards.Select(r => std < 1e-8 ? 0f : (float)(scaleByStd ? (r - mean) / (std + eps) : r - mean)).ToArray();
    }

    /// <summary>
    /// Loss to minimise, from per-token log-probabilities [N, T] of the policy, the policy at sampling time and the
    /// reference, advantages [N] and a mask [N, T] of completion tokens. Per token: min(r A, clip(r) A) - beta KL.
    /// With <paramref name="tokenNorm"/> 0: the mean over each completion's tokens, then over completions (GRPO); with
    /// <paramref name="tokenNorm"/> L > 0: the sum over each completion's tokens divided by L, then the mean over
    /// completions (Dr. GRPO, L = the generation budget). Returns minus that.
    /// </summary>
    public static Tensor Loss(Tensor logp, Tensor oldLogp, Tensor refLogp, Tensor advantages, Tensor mask, float clip, float beta, float tokenNorm = 0f)
    {
        ArgumentNullException.ThrowIfNull(logp);
        var ratio = exp(logp - oldLogp);
        var a = advantages.unsqueeze(1);
        var surrogate = minimum(ratio * a, ratio.clamp(1 - clip, 1 + clip) * a);
        var d = refLogp - logp;
        var kl = exp(d) - d - 1;
        var perToken = (surrogate - beta * kl) * mask;
        var perSeq = tokenNorm > 0 ? perToken.sum(1) / tokenNorm : perToken.sum(1) / mask.sum(1).clamp_min(1);
        return -perSeq.mean();
    }
}
