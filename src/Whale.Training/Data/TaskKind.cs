namespace Whale.Training.Data;

/// <summary>The verifiable task families the model is trained and scored on.</summary>
public enum TaskKind
{
    /// <summary>Multi-digit addition, column by column with carries.</summary>
    Add,
    /// <summary>Multi-digit subtraction (non-negative results), column by column with borrows.</summary>
    Sub,
    /// <summary>A two-digit number times a one-digit number, by place value.</summary>
    Mul,
    /// <summary>Reach a target from three given numbers with + - * (a small search).</summary>
    Countdown,
}
