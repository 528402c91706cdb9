using static TorchSharp.torch;

namespace Whale.Training.Stages;

/// <summary>
/// The GRPO objective (DeepSeekMath / DeepSeek-R1): advantages relative to the group, PPO-style clipped ratio, and the
/// unbiased KL estimator exp(ref - logp) - (ref - logp) - 1 to the reference model, averaged per completion then over
/// the group.
/// </summary>
public static class GrpoMath
{
    /// <summary>(r - mean) / (std + eps) over one group (population std); all zero when every reward is equal.</summary>
    public static float[] Advantages(IReadOnlyList<float> rewards, float eps = 1e-4f)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        double mean = rewards.Average();
        double std = Math.Sqrt(rewards.Sum(r => (r - mean) * (r - mean)) / rewards.Count);
        return rewards.Select(r => std < 1e-8 ? 0f : (float)((r - mean) / (std + eps))).ToArray();
    }

    /// <summary>
    /// Loss to minimise, from per-token log-probabilities [G, T] of the policy, the policy at sampling time and the
    /// reference, advantages [G] and a mask [G, T] of completion tokens: -(mean over tokens of min(r A, clip(r) A) - beta KL).
    /// </summary>
    public static Tensor Loss(Tensor logp, Tensor oldLogp, Tensor refLogp, Tensor advantages, Tensor mask, float clip, float beta)
    {
        ArgumentNullException.ThrowIfNull(logp);
        var ratio = exp(logp - oldLogp);
        var a = advantages.unsqueeze(1);
        var surrogate = minimum(ratio * a, ratio.clamp(1 - clip, 1 + clip) * a);
        var d = refLogp - logp;
        var kl = exp(d) - d - 1;
        var perToken = (surrogate - beta * kl) * mask;
        var perSeq = perToken.sum(1) / mask.sum(1).clamp_min(1);
        return -perSeq.mean();
    }
}
