using Whale.Training.Model;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whale.Training.Stages;

/// <summary>
/// Samples completions from the TorchSharp model with a per-layer key/value cache, many rows at once: every GRPO group of
/// a step in one batch, prompts left-padded to the longest and the padding hidden from attention (RoPE scores depend
/// only on relative positions, so the shift changes nothing). Temperature 0 is greedy.
/// </summary>
public static class TorchSampler
{
    /// <summary>Completions of one prompt; see <see cref="Sample(DeepSeekV3Model, IReadOnlyList{int[]}, int, int, float, int, Generator)"/>.</summary>
    public static List<int[]> Sample(DeepSeekV3Model model, int[] prompt, int count, int maxNew, float temperature, int eosId, Generator rng) =>
        Sample(model, [prompt], count, maxNew, temperature, eosId, rng);

    /// <summary>
    /// <paramref name="count"/> completions of each prompt, prompt-major (row p * count + g); each ends at (and includes)
    /// EOS when one was produced within <paramref name="maxNew"/> tokens.
    /// </summary>
    public static List<int[]> Sample(DeepSeekV3Model model, IReadOnlyList<int[]> prompts, int count, int maxNew, float temperature, int eosId, Generator rng)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0 || prompts.Any(p => p.Length == 0)) throw new ArgumentException("every prompt needs at least one token", nameof(prompts));
        int rows = prompts.Count * count, longest = prompts.Max(p => p.Length);
        model.eval();
        using var _ = no_grad();
        var seqs = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToList();
        var done = new bool[rows];
        var ids0 = new long[rows * longest];
        var pad = new bool[rows * (longest + maxNew)];
        for (int r = 0; r < rows; r++)
        {
            var p = prompts[r / count];
            int shift = longest - p.Length;
            for (int k = 0; k < shift; k++) { ids0[r * longest + k] = eosId; pad[r * (longest + maxNew) + k] = true; }
            for (int k = 0; k < p.Length; k++) ids0[r * longest + shift + k] = p[k];
        }
        bool padded = prompts.Any(p => p.Length != longest);
        var padding = padded ? tensor(pad, [rows, longest + maxNew]) : null;
        var caches = Enumerable.Range(0, model.Config.Layers).Select(_ => new LayerCache { Padding = padding }).ToList();
        var active = Enumerable.Range(0, rows).ToList();                  // batch row -> sample row
        var cur = tensor(ids0, [rows, longest]);
        for (int step = 0; step < maxNew && active.Count > 0; step++)
        {
            using var scope = NewDisposeScope();
            var (logits, _) = model.Forward(cur, caches);
            var last = logits.select(1, -1);                              // [A, V]
            Tensor next;
            if (temperature <= 0) next = last.argmax(-1);
            else next = multinomial(F.softmax(last / temperature, -1), 1, generator: rng).squeeze(1);
            var ids = next.data<long>().ToArray();
            int finished = 0;
            for (int b = 0; b < active.Count; b++)
            {
                if (done[active[b]]) { ids[b] = eosId; continue; }  // finished, not dropped yet
                seqs[active[b]].Add((int)ids[b]);
                if (ids[b] == eosId) { done[active[b]] = true; finished++; }
            }
            // drop finished rows from the batch once a quarter of it is done (each drop copies the caches)
            if (finished > 0 && active.Count(r => done[r]) * 4 >= active.Count)
            {
                var keep = Enumerable.Range(0, active.Count).Where(b => !done[active[b]]).ToArray();
                using var keepT = tensor(keep.Select(b => (long)b).ToArray());
                foreach (var c in caches) c.KeepRows(keepT);
                if (padding is not null)
                {
                    var kept = padding.index_select(0, keepT).MoveToOuterDisposeScope();
                    padding.Dispose();
                    padding = kept;
                    foreach (var c in caches) c.Padding = padding;
                }
                active = keep.Select(b => active[b]).ToList();
                ids = keep.Select(b => ids[b]).ToArray();
            }
            cur.Dispose();
            cur = tensor(ids).unsqueeze(1).MoveToOuterDisposeScope();
        }
        cur.Dispose();
        padding?.Dispose();
        foreach (var c in caches) c.Dispose();
        model.train();
        return seqs.Select(s => s.ToArray()).ToList();
    }
}
