using System.Globalization;
using System.Text;

namespace Whale.Training.Eval;

/// <summary>
/// Paired comparison of two models scored on the same questions. Each question contributes the difference of its two
/// scores (mean accuracy over its samples); the interval comes from a paired bootstrap that resamples questions with
/// replacement within each stratum (task), so the per-task sample sizes stay as they were drawn. One sample per
/// question also gets McNemar's exact test on the discordant pairs.
/// </summary>
public static class PairedComparison
{
    /// <summary>Compares B against A, question by question (the same order in both lists).</summary>
    /// <param name="label">Name of the row.</param>
    /// <param name="a">Baseline scores in [0, 1].</param>
    /// <param name="b">Candidate scores in [0, 1], same questions in the same order.</param>
    /// <param name="strata">Stratum of each question (e.g. its task); null: one stratum.</param>
    /// <param name="resamples">Bootstrap resamples.</param>
    /// <param name="seed">Bootstrap seed (the interval is reproducible).</param>
    public static PairedDifference Compare(string label, IReadOnlyList<double> a, IReadOnlyList<double> b, IReadOnlyList<int>? strata = null,
        int resamples = 10_000, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count) throw new ArgumentException($"paired scores need the same questions ({a.Count} vs {b.Count})");
        if (a.Count == 0) throw new ArgumentException("no questions to compare");
        if (strata is not null && strata.Count != a.Count) throw new ArgumentException($"{strata.Count} strata for {a.Count} questions");
        ArgumentOutOfRangeException.ThrowIfLessThan(resamples, 100);
        int n = a.Count;
        var d = new double[n];
        int betterA = 0, betterB = 0;
        bool binary = true;
        for (int i = 0; i < n; i++)
        {
            d[i] = b[i] - a[i];
            if (d[i] > 0) betterB++;
            else if (d[i] < 0) betterA++;
            binary &= a[i] is 0 or 1 && b[i] is 0 or 1;
        }

        var groups = (strata ?? new int[n]).Select((s, i) => (s, i)).GroupBy(x => x.s).Select(g => g.Select(x => x.i).ToArray()).ToArray();
        var rng = new Random(seed);
        var means = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            double sum = 0;
            foreach (var g in groups)
                for (int j = 0; j < g.Length; j++) sum += d[g[rng.Next(g.Length)]];
            means[r] = sum / n;
        }
        Array.Sort(means);
        return new PairedDifference(label, n, a.Average(), b.Average(), Percentile(means, 0.025), Percentile(means, 0.975), betterA, betterB,
            binary ? McNemarExact(betterA, betterB) : double.NaN);
    }

    /// <summary>One row per task (in <paramref name="a"/>'s order of first appearance) and "all" (pooled over questions, stratified by task).</summary>
    public static List<PairedDifference> ByTask(IReadOnlyList<QuestionScore> a, IReadOnlyList<QuestionScore> b, int resamples = 10_000, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count) throw new ArgumentException($"paired scores need the same questions ({a.Count} vs {b.Count})");
        for (int i = 0; i < a.Count; i++)
            if (a[i].Kind != b[i].Kind) throw new ArgumentException($"question {i} is {a[i].Kind} in one list and {b[i].Kind} in the other");
        var rows = new List<PairedDifference>();
        foreach (var kind in a.Select(q => q.Kind).Distinct())
        {
            var idx = Enumerable.Range(0, a.Count).Where(i => a[i].Kind == kind).ToArray();
            rows.Add(Compare(kind.ToString().ToLowerInvariant(), idx.Select(i => a[i].Accuracy).ToArray(), idx.Select(i => b[i].Accuracy).ToArray(), null, resamples, seed));
        }
        rows.Add(Compare("all", a.Select(q => q.Accuracy).ToArray(), b.Select(q => q.Accuracy).ToArray(), a.Select(q => (int)q.Kind).ToArray(), resamples, seed));
        return rows;
    }

    /// <summary>
    /// Exact two-sided McNemar test: under "no difference" each discordant pair favours either model with probability
    /// 1/2, so p = min(1, 2 · P(X ≤ min(b, c))) for X ~ Binomial(b + c, 1/2).
    /// </summary>
    public static double McNemarExact(int b, int c)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(b);
        ArgumentOutOfRangeException.ThrowIfNegative(c);
        int n = b + c, k = Math.Min(b, c);
        if (n == 0) return 1;
        // log-space binomial terms: C(n, i) / 2^n
        double tail = 0, logC = 0;
        for (int i = 0; i <= k; i++)
        {
            if (i > 0) logC += Math.Log(n - i + 1) - Math.Log(i);
            tail += Math.Exp(logC - n * Math.Log(2));
        }
        return Math.Min(1, 2 * tail);
    }

    /// <summary>Linear interpolation between the closest ranks of a sorted array (q in [0, 1]).</summary>
    public static double Percentile(double[] sorted, double q)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Length == 0) throw new ArgumentException("empty sample");
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <summary>A markdown table of the rows, differences in percentage points.</summary>
    public static string Table(string nameA, string nameB, IReadOnlyList<PairedDifference> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"paired: B = {nameB} minus A = {nameA}, 95 % interval from a paired bootstrap (10,000 resamples, stratified by task)");
        sb.AppendLine("| task | questions | A | B | B − A | 95 % interval | A better | B better | McNemar p |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            sb.AppendLine(inv, $"| {r.Label} | {r.Questions} | {r.MeanA:P1} | {r.MeanB:P1} | {100 * r.Difference:+0.0;-0.0;0.0} | [{100 * r.Low:+0.0;-0.0;0.0}, {100 * r.High:+0.0;-0.0;0.0}]{(r.Significant ? " *" : "")} | {r.BetterA} | {r.BetterB} | {(double.IsNaN(r.McNemarP) ? "-" : r.McNemarP.ToString("0.0000", inv))} |");
        return sb.ToString();
    }
}
