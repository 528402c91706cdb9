using Whale.Training.Data;

namespace Whale.Training.Eval;

/// <summary>Accuracy and format compliance of one task kind on the held-out sample.</summary>
public sealed record TaskScore(TaskKind Kind, int Count, int Correct, int Formatted)
{
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;
    public double FormatRate => Count == 0 ? 0 : (double)Formatted / Count;
}
