using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using Whale.Training.Data;
using Whale.Training.Model;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whale.Training.Stages;

/// <summary>
/// GRPO as in DeepSeek-R1: per prompt a group of completions sampled from the current policy, rule-based rewards
/// (accuracy + format), group-relative advantages, then <see cref="Recipe.GrpoInner"/> clipped-objective updates with a
/// KL penalty to the frozen reference (the SFT model). No value model. All groups of a step are sampled as one batch
/// and scored in micro-batches of right-padded rows.
/// </summary>
public sealed class GrpoTrainer(DeepSeekV3Model policy, DeepSeekV3Model reference, TaskEncoder encoder, Recipe recipe, TrainingLog log)
{
    private const int MicroBatch = 32;

    /// <summary>
    /// Log-probabilities [N, L-1] of each next token of seqs [N, L]: entry t is log p(seqs[:, t+1] | seqs[:, ..t]) at
    /// the given sampling temperature. Right padding does not change the entries before it (attention is causal).
    /// </summary>
    public static Tensor TokenLogProbs(DeepSeekV3Model model, Tensor seqs, float temperature = 1f)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(seqs);
        var (logits, _) = model.Forward(seqs.narrow(1, 0, seqs.shape[1] - 1));
        if (temperature > 0 && temperature != 1f) logits = logits / temperature;
        var lp = F.log_softmax(logits, -1);
        return lp.gather(2, seqs.narrow(1, 1, seqs.shape[1] - 1).unsqueeze(2)).squeeze(2);
    }

    /// <summary>
    /// Rows [N, L] (prompt, completion, then EOS padding) and a mask [N, L-1] over <see cref="TokenLogProbs"/>'s
    /// entries that predict completion tokens (EOS included when it was sampled).
    /// </summary>
    public static (Tensor Seqs, Tensor Mask) Pack(IReadOnlyList<(int[] Prompt, int[] Completion)> rows, int padId)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int n = rows.Count, len = rows.Max(r => r.Prompt.Length + r.Completion.Length);
        var seq = new long[n * len];
        var mask = new float[n * (len - 1)];
        Array.Fill(seq, padId);
        for (int i = 0; i < n; i++)
        {
            var (p, c) = rows[i];
            for (int k = 0; k < p.Length; k++) seq[i * len + k] = p[k];
            for (int k = 0; k < c.Length; k++)
            {
                seq[i * len + p.Length + k] = c[k];
                mask[i * (len - 1) + p.Length - 1 + k] = 1f;
            }
        }
        return (tensor(seq, [n, len]), tensor(mask, [n, len - 1]));
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
        int pad = tok.EosId;
        var pick = new Random(recipe.Seed + 11);
        Problem NextProblem()
        {
            if (recipe.GrpoKindWeights is not { } weights) return tasks.Next(heldOut: false);
            int r = pick.Next(weights.Sum());
            for (int k = 0; k < weights.Count; k++)
                if ((r -= weights[k]) < 0) return tasks.Next(TaskGenerator.Kinds[k], heldOut: false);
            return tasks.Next(TaskGenerator.Kinds[^1], heldOut: false);
        }
        int kinds = TaskGenerator.Kinds.Count, G = recipe.GrpoGroup;
        for (int step = 1; step <= recipe.GrpoSteps; step++)
        {
            using var scope = NewDisposeScope(); // every tensor of the step, the no-grad passes' included
            var problems = Enumerable.Range(0, recipe.GrpoPrompts).Select(_ => NextProblem()).ToList();
            var prompts = problems.Select(p => encoder.Prompt(p.Question)).ToList();
            var sampleTime = Stopwatch.StartNew();
            var samples = TorchSampler.Sample(policy, prompts, G, recipe.MaxNewTokens, recipe.GrpoTemperature, tok.EosId, rng);
            var rows = new List<(int[] Prompt, int[] Completion)>();
            var advs = new List<float>();
            var acc = new float[kinds];
            var count = new int[kinds];
            float rewardSum = 0, fmtSum = 0, reasonSum = 0;
            int groups = 0;
            for (int i = 0; i < problems.Count; i++)
            {
                var problem = problems[i];
                var rewards = new float[G];
                for (int g = 0; g < G; g++)
                {
                    var ids = samples[i * G + g];
                    bool stopped = ids.Length > 0 && ids[^1] == tok.EosId;
                    string text = tok.Decode(stopped ? ids[..^1] : ids);
                    float a = Rewards.Accuracy(problem, text), fmt = stopped ? Rewards.Format(text) : 0f;
                    float reason = Rewards.Reasoning(problem, text);
                    rewards[g] = a + recipe.GrpoReasoningWeight * reason + recipe.GrpoFormatWeight * fmt;
                    rewardSum += rewards[g]; fmtSum += fmt; reasonSum += reason;
                    acc[(int)problem.Kind] += a; count[(int)problem.Kind]++;
                }
                var adv = GrpoMath.Advantages(rewards, scaleByStd: recipe.GrpoScaleByStd);
                if (adv.All(x => x == 0f)) continue; // no signal from this group
                groups++;
                for (int g = 0; g < G; g++) { rows.Add((prompts[i], samples[i * G + g])); advs.Add(adv[g]); }
            }
            double sampleSeconds = sampleTime.Elapsed.TotalSeconds;
            var updateTime = Stopwatch.StartNew();
            float lossSum = 0, klSum = 0;
            if (rows.Count > 0)
                (lossSum, klSum) = Update(opt, rows, advs.ToArray(), pad);
            int n = problems.Count * G;
            var perKind = string.Join(" ", TaskGenerator.Kinds.Where(k => count[(int)k] > 0)
                .Select(k => string.Create(CultureInfo.InvariantCulture, $"{k.ToString().ToLowerInvariant()} {acc[(int)k] / count[(int)k]:F2}")));
            log.Progress("grpo", step, recipe.GrpoSteps, sw.Elapsed, string.Create(CultureInfo.InvariantCulture,
                $"reward {rewardSum / n:F3} acc {acc.Sum() / n:F3} ({perKind}) reasoning {reasonSum / n:F3} format {fmtSum / n:F3} groups {groups} loss {lossSum:F4} kl {klSum:F4} time {sampleSeconds:F1}+{updateTime.Elapsed.TotalSeconds:F1}s"));
        }
    }

    /// <summary>The inner updates on one step's rows; returns the summed loss and the mean per-token KL of the last update.</summary>
    private (float Loss, float Kl) Update(optim.Optimizer opt, List<(int[] Prompt, int[] Completion)> rows, float[] advantages, int pad)
    {
        var chunks = new List<(Tensor Seqs, Tensor Mask, Tensor Adv, Tensor Ref)>();
        for (int start = 0; start < rows.Count; start += MicroBatch)
        {
            int len = Math.Min(MicroBatch, rows.Count - start);
            var (seqs, mask) = Pack(rows.GetRange(start, len), pad);
            Tensor refLp;
            using (no_grad()) refLp = TokenLogProbs(reference, seqs, recipe.GrpoTemperature).detach();
            chunks.Add((seqs, mask, tensor(advantages.AsSpan(start, len).ToArray()), refLp));
        }
        // the policy that sampled ("old") is the policy before the first update: its log-probabilities are those of the
        // first inner pass, so they need no pass of their own
        var old = new Tensor[chunks.Count];
        float tokenNorm = recipe.GrpoScaleByStd ? 0f : recipe.MaxNewTokens;
        float lossSum = 0, klSum = 0, tokens = 0;
        policy.train();
        for (int inner = 0; inner < recipe.GrpoInner; inner++)
        {
            opt.zero_grad();
            klSum = 0; tokens = 0;
            for (int c = 0; c < chunks.Count; c++)
            {
                var (seqs, mask, adv, refLp) = chunks[c];
                using var scope = NewDisposeScope();
                var logp = TokenLogProbs(policy, seqs, recipe.GrpoTemperature);
                if (inner == 0) old[c] = logp.detach().clone().MoveToOuterDisposeScope();
                // each chunk's mean over its rows, weighted by its share of the rows: the mean over all rows
                var loss = GrpoMath.Loss(logp, old[c], refLp, adv, mask, recipe.GrpoClip, recipe.GrpoKl, tokenNorm) * (seqs.shape[0] / (float)rows.Count);
                loss.backward();
                lossSum += loss.item<float>();
                using (no_grad())
                {
                    var d = refLp - logp;
                    klSum += ((exp(d) - d - 1) * mask).sum().item<float>();
                    tokens += mask.sum().item<float>();
                }
            }
            nn.utils.clip_grad_norm_(policy.parameters(), 1.0);
            opt.step();
            foreach (var moe in policy.MoeLayers()) moe.UpdateBias(recipe.GrpoBiasGamma);
        }
        foreach (var o in old) o.Dispose();
        foreach (var c in chunks) { c.Seqs.Dispose(); c.Mask.Dispose(); c.Adv.Dispose(); c.Ref.Dispose(); }
        return (lossSum, klSum / Math.Max(1, tokens));
    }
}
