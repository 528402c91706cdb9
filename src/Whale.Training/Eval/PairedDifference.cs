namespace Whale.Training.Eval;

/// <summary>
/// Accuracy of a candidate B against a baseline A on the same questions: the means, their difference B − A, its 95 %
/// interval (paired bootstrap, stratified by task) and, for one sample per question, the discordant pairs and the exact
/// McNemar p-value.
/// </summary>
/// <param name="Label">Task name or "all".</param>
/// <param name="Questions">Questions compared.</param>
/// <param name="MeanA">Baseline accuracy.</param>
/// <param name="MeanB">Candidate accuracy.</param>
/// <param name="Low">2.5th percentile of the bootstrapped difference.</param>
/// <param name="High">97.5th percentile of the bootstrapped difference.</param>
/// <param name="BetterA">Questions on which A scored higher than B.</param>
/// <param name="BetterB">Questions on which B scored higher than A.</param>
/// <param name="McNemarP">Exact two-sided McNemar p-value on <see cref="BetterA"/> vs <see cref="BetterB"/>; NaN when the scores are not 0/1.</param>
public sealed record PairedDifference(string Label, int Questions, double MeanA, double MeanB, double Low, double High, int BetterA, int BetterB, double McNemarP)
{
    public double Difference => MeanB - MeanA;

    /// <summary>True when the 95 % interval lies entirely above 0 (B better) or below 0 (B worse).</summary>
    public bool Significant => Low > 0 || High < 0;
}
