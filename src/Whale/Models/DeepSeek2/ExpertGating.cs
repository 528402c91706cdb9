namespace Whale.Models.DeepSeek2;

/// <summary>How router logits become expert probabilities (<c>deepseek2.expert_gating_func</c>).</summary>
public enum ExpertGating
{
    /// <summary>softmax over all experts (value 1; the default when the key is absent: DeepSeek-V2, V2-Lite).</summary>
    Softmax = 1,
    /// <summary>independent sigmoid per expert (value 2: DeepSeek-V3, R1).</summary>
    Sigmoid = 2,
}
