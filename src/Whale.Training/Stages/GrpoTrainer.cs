using System.Diagnostics;
using TorchSharp;
using Whale.Training.Data;
using Whale.Training.Model;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whale.Training.Stages;

/// <summary>
/// GRPO as in DeepSeek-R1: per prompt a group of completions sampled from the current policy, rule-based rewards
/// (accuracy + format), group-relative advantages, then <see cref="Recipe.GrpoInner"/> clipped-objective updates with a
/// KL penalty to the frozen reference (the SFT model). No value model.
/// </summary>
public sealed class GrpoTrainer(DeepSeekV3Model policy, DeepSeekV3Model reference, TaskEncoder encoder, Recipe recipe, TrainingLog log)
{
    /// <summary>Per-token log-probabilities [G, T] of the completion part of seqs [G, P + T] (prompt length P).</summary>
    public static Tensor CompletionLogProbs(DeepSeekV3Model model, Tensor seqs, int promptLength)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (logits, _) = model.Forward(seqs.narrow(1, 0, seqs.shape[1] - 1));
        var lp = F.log_softmax(logits.narrow(1, promptLength - 1, seqs.shape[1] - promptLength), -1);
        var targets = seqs.narrow(1, promptLength, seqs.shape[1] - promptLength);
        return lp.gather(2, targets.unsqueeze(2)).squeeze(2);
    }

    public void Train(TaskGenerator tasks)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        reference.eval();
        foreach (var p in reference.parameters()) p.requires_grad = false;
        using var opt = optim.AdamW(policy.parameters(), recipe.GrpoLr, beta1: 0.9, beta2: 0.99, weight_decay: 0.0);
        var rng = new Generator((ulong)recipe.Seed + 7);
        var sw = Stopwatch.StartNew();
        var tok = encoder.Tokenizer;
        var pick = new Random(recipe.Seed + 11);
        Problem NextProblem()
        {
            if (recipe.GrpoKindWeights is not { } weights) return tasks.Next(heldOut: false);
            int r = pick.Next(weights.Sum());
            for (int k = 0; k < weights.Count; k++)
                if ((r -= weights[k]) < 0) return tasks.Next(TaskGenerator.Kinds[k], heldOut: false);
            return tasks.Next(TaskGenerator.Kinds[^1], heldOut: false);
        }
        for (int step = 1; step <= recipe.GrpoSteps; step++)
        {
            var groups = new List<(Tensor Seqs, Tensor Mask, Tensor Adv, Tensor Old, Tensor Ref, int P)>();
            float rewardSum = 0, accSum = 0, fmtSum = 0;
            int n = 0;
            for (int i = 0; i < recipe.GrpoPrompts; i++)
            {
                var problem = NextProblem();
                var prompt = encoder.Prompt(problem.Question);
                var samples = TorchSampler.Sample(policy, prompt, recipe.GrpoGroup, recipe.MaxNewTokens, recipe.GrpoTemperature, tok.EosId, rng);
                var rewards = new float[samples.Count];
                for (int g = 0; g < samples.Count; g++)
                {
                    var ids = samples[g];
                    bool stopped = ids.Length > 0 && ids[^1] == tok.EosId;
                    string text = tok.Decode(stopped ? ids[..^1] : ids);
                    float acc = Rewards.Accuracy(problem, text), fmt = stopped ? Rewards.Format(text) : 0f;
                    rewards[g] = acc + 0.2f * fmt;
                    rewardSum += rewards[g]; accSum += acc; fmtSum += fmt; n++;
                }
                var adv = GrpoMath.Advantages(rewards);
                if (adv.All(a => a == 0f)) continue; // no signal from this group
                int t = samples.Max(s => s.Length);
                var seq = new long[samples.Count * (prompt.Length + t)];
                var mask = new float[samples.Count * t];
                for (int g = 0; g < samples.Count; g++)
                {
                    int row = g * (prompt.Length + t);
                    for (int k = 0; k < prompt.Length; k++) seq[row + k] = prompt[k];
                    for (int k = 0; k < t; k++)
                    {
                        seq[row + prompt.Length + k] = k < samples[g].Length ? samples[g][k] : tok.EosId;
                        mask[g * t + k] = k < samples[g].Length ? 1f : 0f;
                    }
                }
                var seqT = tensor(seq, [samples.Count, prompt.Length + t]);
                Tensor old, refLp;
                using (no_grad())
                {
                    old = CompletionLogProbs(policy, seqT, prompt.Length).detach();
                    refLp = CompletionLogProbs(reference, seqT, prompt.Length).detach();
                }
                groups.Add((seqT, tensor(mask, [samples.Count, t]), tensor(adv), old, refLp, prompt.Length));
            }
            float lossValue = 0;
            policy.train();
            for (int inner = 0; inner < recipe.GrpoInner && groups.Count > 0; inner++)
            {
                opt.zero_grad();
                foreach (var (seqs, mask, adv, old, refLp, p) in groups)
                {
                    using var scope = NewDisposeScope();
                    var logp = CompletionLogProbs(policy, seqs, p);
                    var loss = GrpoMath.Loss(logp, old, refLp, adv, mask, recipe.GrpoClip, recipe.GrpoKl) / groups.Count;
                    loss.backward();
                    lossValue += loss.item<float>();
                }
                nn.utils.clip_grad_norm_(policy.parameters(), 1.0);
                opt.step();
                foreach (var moe in policy.MoeLayers()) moe.UpdateBias(recipe.BiasGamma);
            }
            foreach (var g in groups) { g.Seqs.Dispose(); g.Mask.Dispose(); g.Adv.Dispose(); g.Old.Dispose(); g.Ref.Dispose(); }
            log.Progress("grpo", step, recipe.GrpoSteps, sw.Elapsed,
                $"reward {rewardSum / Math.Max(1, n):F3} acc {accSum / Math.Max(1, n):F3} format {fmtSum / Math.Max(1, n):F3} groups {groups.Count} loss {lossValue:F4}");
        }
    }
}
