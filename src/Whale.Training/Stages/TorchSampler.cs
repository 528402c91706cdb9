using Whale.Training.Model;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whale.Training.Stages;

/// <summary>
/// Samples completions of one prompt from the TorchSharp model, several at once (a GRPO group), with a per-layer key/value cache. Temperature 0 is greedy.
/// </summary>
public static class TorchSampler
{
    /// <summary>Returns the completion ids of each sample, ending at (and including) EOS when one was produced.</summary>
    public static List<int[]> Sample(DeepSeekV3Model model, int[] prompt, int count, int maxNew, float temperature, int eosId, Generator rng)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        model.eval();
        using var _ = no_grad();
        var seqs = Enumerable.Range(0, count).Select(_ => new List<int>()).ToList();
        var done = new bool[count];
        var promptRow = prompt.Select(t => (long)t).ToArray();
        var caches = Enumerable.Range(0, model.Config.Layers).Select(_ => new LayerCache()).ToList();
        var cur = tensor(promptRow).unsqueeze(0).expand(count, -1).contiguous();
        for (int step = 0; step < maxNew && !done.All(d => d); step++)
        {
            using var scope = NewDisposeScope();
            var (logits, _) = model.Forward(cur, caches);
            var last = logits.select(1, -1);                              // [G, V]
            Tensor next;
            if (temperature <= 0) next = last.argmax(-1);
            else next = multinomial(F.softmax(last / temperature, -1), 1, generator: rng).squeeze(1);
            var ids = next.data<long>().ToArray();
            for (int g = 0; g < count; g++)
            {
                if (done[g]) { ids[g] = eosId; continue; }
                seqs[g].Add((int)ids[g]);
                if (ids[g] == eosId) done[g] = true;
            }
            cur = tensor(ids).unsqueeze(1).MoveToOuterDisposeScope();
        }
        foreach (var c in caches) c.Dispose();
        model.train();
        return seqs.Select(s => s.ToArray()).ToList();
    }
}
