using Whale.Training.Data;

namespace Whale.Training.Eval;

/// <summary>
/// Accuracy and format compliance of one task kind on the held-out sample. <see cref="Count"/> counts completions:
/// questions times <see cref="Samples"/>.
/// </summary>
public sealed record TaskScore(TaskKind Kind, int Count, int Correct, int Formatted)
{
    /// <summary>Completions per question (1: greedy or one sample).</summary>
    public int Samples { get; init; } = 1;

    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;
    public double FormatRate => Count == 0 ? 0 : (double)Formatted / Count;
}
