using System.Diagnostics;
using TorchSharp;
using Whale.Training.Data;
using Whale.Training.Model;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whale.Training.Stages;

/// <summary>
/// Next-token training shared by pretraining and SFT: AdamW, linear warm-up then cosine decay, gradient clipping,
/// main loss + MTP loss times its weight, and the routing-bias update after every step.
/// </summary>
public sealed class LanguageModelTrainer(DeepSeekV3Model model, Recipe recipe, TrainingLog log)
{
    /// <summary>Loss of one batch (main + weighted MTP) and the main loss alone.</summary>
    public (Tensor Total, float Main, float Mtp) Loss(Tensor inputs, Tensor labels)
    {
        var (logits, hidden) = model.Forward(inputs);
        long v = logits.shape[^1];
        var main = F.cross_entropy(logits.reshape(-1, v), labels.reshape(-1), ignore_index: Batch.Ignore);
        if (model.mtp is null || inputs.shape[1] < 3) return (main, main.item<float>(), 0f);
        var mtpLogits = model.ForwardMtp(inputs, hidden);
        var mtpLabels = labels.narrow(1, 1, labels.shape[1] - 1);
        var mtp = F.cross_entropy(mtpLogits.reshape(-1, v), mtpLabels.reshape(-1), ignore_index: Batch.Ignore);
        return (main + recipe.MtpWeight * mtp, main.item<float>(), mtp.item<float>());
    }

    /// <summary>Runs <paramref name="steps"/> steps on batches from <paramref name="next"/>; returns the last main losses (mean of the final 10%).</summary>
    public float Train(string stage, int steps, float lr, Func<IReadOnlyList<Encoded>> next, int padId)
    {
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
            var (loss, main, mtp) = Loss(x, y);
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            opt.step();
            foreach (var moe in model.MoeLayers()) moe.UpdateBias(recipe.BiasGamma);
            if (step > steps * 9 / 10) { tail += main; tailN++; }
            if (step == 1 || step % 10 == 0 || step == steps)
                log.Progress(stage, step, steps, sw.Elapsed, $"loss {main:F4} mtp {mtp:F4} lr {lr * f:E2} {tokens / sw.Elapsed.TotalSeconds:F0} tok/s");
        }
        return tailN > 0 ? (float)(tail / tailN) : float.NaN;
    }
}
