namespace Whale.Models.DeepSeek2;

/// <summary>
/// DeepSeekMoE routing of one token in llama.cpp's order (build_moe_ffn): probabilities = softmax or sigmoid of the
/// router logits; selection values = probabilities + exp_probs_b (bias only steers the choice); with groups, the
/// groups whose two best selection values sum highest are kept and the rest masked; top-k selection; weights =
/// unbiased probabilities of the chosen experts, optionally normalized to sum 1, then scaled.
/// </summary>
internal sealed class MoeRouter
{
    private readonly ExpertGating _gating;
    private readonly int _experts, _used, _groups, _groupsUsed;
    private readonly bool _normalize;
    private readonly float _scale;

    public MoeRouter(ExpertGating gating, int experts, int used, int groups = 0, int groupsUsed = 0, bool normalize = false, float scale = 0f)
    {
        if (experts <= 0 || used <= 0 || used > experts) throw new ArgumentException($"bad expert counts: {used} of {experts}");
        if (groups > 1 && (experts % groups != 0 || groupsUsed <= 0 || groupsUsed >= groups || experts / groups * groupsUsed < used))
            throw new ArgumentException($"bad expert groups: {groupsUsed} of {groups} for {used} of {experts} experts");
        _gating = gating; _experts = experts; _used = used; _groups = groups; _groupsUsed = groupsUsed;
        _normalize = normalize; _scale = scale;
    }

    public static MoeRouter FromConfig(DeepSeek2Config c) => new(c.Gating, c.ExpertCount, c.ExpertUsedCount,
        c.ExpertGroupCount, c.ExpertGroupUsedCount, c.ExpertWeightsNorm, c.ExpertWeightsScale);

    /// <summary>Experts per token.</summary>
    public int Used => _used;

    /// <summary>
    /// Routes one token. <paramref name="logits"/> and the scratch spans have one value per expert; <paramref name="bias"/>
    /// is empty or one value per expert. Writes the chosen experts in selection order (best first) and their weights.
    /// </summary>
    public void Route(ReadOnlySpan<float> logits, ReadOnlySpan<float> bias, Span<float> probs, Span<float> selection,
        Span<int> selected, Span<float> weights)
    {
        int X = _experts;
        if (logits.Length < X || probs.Length < X || selection.Length < X || selected.Length < _used || weights.Length < _used)
            throw new ArgumentException("routing spans too short");
        // 1. probabilities [X]
        if (_gating == ExpertGating.Sigmoid)
        {
            for (int e = 0; e < X; e++) probs[e] = 1.0f / (1.0f + MathF.Exp(-logits[e]));
        }
        else
        {
            float max = float.NegativeInfinity;
            for (int e = 0; e < X; e++) max = MathF.Max(max, logits[e]);
            double sum = 0;
            for (int e = 0; e < X; e++) { float v = MathF.Exp(logits[e] - max); probs[e] = v; sum += v; }
            float inv = (float)(1.0 / sum);
            for (int e = 0; e < X; e++) probs[e] *= inv;
        }
        // 2. selection values: biased copy
        for (int e = 0; e < X; e++) selection[e] = bias.IsEmpty ? probs[e] : probs[e] + bias[e];
        // 3. group-limited routing: keep the groupsUsed groups with the largest top-2 sums
        if (_groups > 1) MaskGroups(selection[..X]);
        // 4. top-k (ties: lower index first); a taken expert is marked NaN
        for (int k = 0; k < _used; k++)
        {
            int best = -1;
            for (int e = 0; e < X; e++)
            {
                float v = selection[e];
                if (float.IsNaN(v)) continue;
                if (best < 0 || v > selection[best]) best = e;
            }
            selected[k] = best;
            selection[best] = float.NaN;
        }
        // 5. weights from the unbiased probabilities
        for (int k = 0; k < _used; k++) weights[k] = probs[selected[k]];
        if (_normalize)
        {
            double sum = 0;
            for (int k = 0; k < _used; k++) sum += weights[k];
            float s = MathF.Max((float)sum, 6.103515625e-5f);
            for (int k = 0; k < _used; k++) weights[k] /= s;
        }
        if (_scale != 0f && _scale != 1f)
            for (int k = 0; k < _used; k++) weights[k] *= _scale;
    }

    private void MaskGroups(Span<float> selection)
    {
        int size = _experts / _groups;
        Span<float> score = _groups <= 256 ? stackalloc float[_groups] : new float[_groups];
        for (int g = 0; g < _groups; g++)
        {
            var grp = selection.Slice(g * size, size);
            float a = float.NegativeInfinity, b = float.NegativeInfinity;   // best, second best
            for (int i = 0; i < size; i++)
            {
                float v = grp[i];
                if (v > a) { b = a; a = v; }
                else if (v > b) b = v;
            }
            score[g] = size >= 2 ? a + b : a;
        }
        Span<bool> keep = _groups <= 256 ? stackalloc bool[_groups] : new bool[_groups];
        keep.Clear();
        for (int k = 0; k < _groupsUsed; k++)
        {
            int best = -1;
            for (int g = 0; g < _groups; g++)
                if (!keep[g] && (best < 0 || score[g] > score[best])) best = g;
            keep[best] = true;
        }
        for (int g = 0; g < _groups; g++)
            if (!keep[g]) selection.Slice(g * size, size).Fill(float.NegativeInfinity);
    }
}
