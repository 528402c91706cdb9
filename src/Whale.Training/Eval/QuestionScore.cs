using Whale.Training.Data;

namespace Whale.Training.Eval;

/// <summary>One held-out question: how many of its <see cref="Samples"/> completions were right and well formed.</summary>
public readonly record struct QuestionScore(TaskKind Kind, int Samples, int Correct, int Formatted)
{
    /// <summary>Mean accuracy over the samples (0 or 1 for one sample).</summary>
    public double Accuracy => Samples == 0 ? 0 : (double)Correct / Samples;
}
