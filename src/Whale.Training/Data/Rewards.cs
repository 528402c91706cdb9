using System.Globalization;
using System.Text.RegularExpressions;

namespace Whale.Training.Data;

/// <summary>
/// Rule-based rewards as in DeepSeek-R1: accuracy (the boxed answer is right, checked by code, never by a model) and
/// format (reasoning closed by exactly one &lt;/think&gt;, then exactly one \boxed{...} answer). The completion is the
/// text generated after the prompt's "&lt;think&gt;\n" (without the end-of-sentence token).
/// </summary>
public static partial class Rewards
{
    [GeneratedRegex(@"\\boxed\{([^{}]*)\}")]
    private static partial Regex BoxedRegex();

    /// <summary>The answer part: text after the last &lt;/think&gt;, or null when reasoning is never closed.</summary>
    public static string? AnswerPart(string completion)
    {
        int i = completion.LastIndexOf("</think>", StringComparison.Ordinal);
        return i < 0 ? null : completion[(i + "</think>".Length)..];
    }

    /// <summary>The single boxed answer after the reasoning, or null when missing or ambiguous.</summary>
    public static string? ExtractAnswer(string completion)
    {
        var answer = AnswerPart(completion);
        if (answer is null) return null;
        var m = BoxedRegex().Matches(answer);
        return m.Count == 1 ? m[0].Groups[1].Value.Trim() : null;
    }

    /// <summary>1 when the reasoning is non-empty and closed once, and the answer holds exactly one boxed value; else 0.</summary>
    public static float Format(string completion)
    {
        int close = completion.IndexOf("</think>", StringComparison.Ordinal);
        if (close <= 0 || completion.IndexOf("</think>", close + 1, StringComparison.Ordinal) >= 0) return 0f;
        if (completion.Contains("<think>", StringComparison.Ordinal)) return 0f;
        if (string.IsNullOrWhiteSpace(completion[..close])) return 0f;
        return ExtractAnswer(completion) is null ? 0f : 1f;
    }

    /// <summary>1 when the boxed answer solves the problem; else 0.</summary>
    public static float Accuracy(Problem problem, string completion)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var ans = ExtractAnswer(completion);
        if (ans is null) return 0f;
        if (problem.Kind != TaskKind.Countdown)
            return int.TryParse(ans, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) && v == problem.Target ? 1f : 0f;
        return CountdownExpression.Check(ans, problem.Operands, problem.Target) ? 1f : 0f;
    }

    /// <summary>
    /// 1 when the reasoning (before the first &lt;/think&gt;) passes <see cref="TraceVerifier"/>: every step of the working
    /// is a true statement about the problem; else 0.
    /// </summary>
    public static float Reasoning(Problem problem, string completion)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(completion);
        int close = completion.IndexOf("</think>", StringComparison.Ordinal);
        return close > 0 && TraceVerifier.Verify(problem, completion[..close]) ? 1f : 0f;
    }

    /// <summary>The GRPO reward: accuracy plus a smaller format term.</summary>
    public static float Total(Problem problem, string completion, float formatWeight = 0.2f) =>
        Accuracy(problem, completion) + formatWeight * Format(completion);
}
