using System.Diagnostics;
using TorchSharp;
using Whale.Training.Data;
using Whale.Training.Model;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whale.Training.Stages;

/// <summary>
/// Supervised fine-tuning of the <see cref="Qwen2Model"/> student on teacher completions: next-token cross-entropy on
/// the trained (assistant) ids only, AdamW, linear warm-up then cosine decay to 10%, gradient clipping at 1 (the
/// schedule of <see cref="LanguageModelTrainer"/>, without MoE or MTP terms).
/// </summary>
public sealed class StudentTrainer(Qwen2Model model, TrainingLog log)
{
    /// <summary>Mean cross-entropy over the labelled positions of one batch.</summary>
    public Tensor Loss(Tensor inputs, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var logits = model.Forward(inputs);
        return F.cross_entropy(logits.reshape(-1, logits.shape[^1]), labels.reshape(-1), ignore_index: Batch.Ignore);
    }

    /// <summary>Runs <paramref name="steps"/> steps on batches from <paramref name="next"/>; returns the mean loss of the final 10% of steps.</summary>
    public float Train(string stage, int steps, float lr, Func<IReadOnlyList<Encoded>> next, int padId)
    {
        ArgumentNullException.ThrowIfNull(next);
        model.train();
        using var opt = optim.AdamW(model.parameters(), lr, beta1: 0.9, beta2: 0.95, weight_decay: 0.01);
        int warm = Math.Max(1, steps / 20);
        var sw = Stopwatch.StartNew();
        double tail = 0;
        int tailN = 0;
        long tokens = 0;
        for (int step = 1; step <= steps; step++)
        {
            double f = step <= warm ? (double)step / warm : 0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * (step - warm) / Math.Max(1, steps - warm)));
            foreach (var g in opt.ParamGroups) g.LearningRate = lr * f;
            using var scope = NewDisposeScope();
            var (x, y) = Batch.Make(next(), padId);
            tokens += x.numel();
            opt.zero_grad();
            var loss = Loss(x, y);
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            opt.step();
            float value = loss.item<float>();
            if (step > steps * 9 / 10) { tail += value; tailN++; }
            if (step == 1 || step % 10 == 0 || step == steps)
                log.Progress(stage, step, steps, sw.Elapsed, $"loss {value:F4} lr {lr * f:E2} {tokens / sw.Elapsed.TotalSeconds:F0} tok/s");
        }
        return tailN > 0 ? (float)(tail / tailN) : float.NaN;
    }
}
