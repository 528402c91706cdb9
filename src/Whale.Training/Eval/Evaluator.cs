using System.Text;
using Whale.Engine;
using Whale.Sampling;
using Whale.Tokenization;
using Whale.Training.Data;

namespace Whale.Training.Eval;

/// <summary>
/// Scores a GGUF on held-out problems with Whale's own engine (no TorchSharp): each question goes through the file's
/// chat template, the answer is generated greedily or sampled (temperature 0.6, top-p 0.95 as R1 recommends), and
/// the rule-based rewards judge it. Format counts only completions that ended with EOS.
/// </summary>
public static class Evaluator
{
    /// <summary>The completion text (reasoning, &lt;/think&gt;, answer) and whether generation stopped at EOS.</summary>
    public static (string Text, bool Stopped) Complete(WhaleModel model, string question, SamplingParams sampling, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var gen = model.CreateGenerator();
        var prompt = model.TokenizeChat([new ChatMessage(ChatRole.User, question)]);
        var options = new GenerationOptions { Sampling = sampling, MaxTokens = maxTokens, ParseReasoning = false };
        var sb = new StringBuilder();
        string? finish = null;
        foreach (var ev in gen.Generate(prompt, options))
        {
            sb.Append(ev.Content);
            if (ev.FinishReason is not null) finish = ev.FinishReason;
        }
        return (sb.ToString(), finish == "stop");
    }

    public static List<TaskScore> Evaluate(WhaleModel model, IReadOnlyList<Problem> problems, float temperature, ulong seed, int maxTokens = 200, Action<Problem, string>? onResult = null)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var scores = new Dictionary<TaskKind, (int N, int C, int F)>();
        int i = 0;
        foreach (var p in problems)
        {
            var sampling = temperature <= 0 ? SamplingParams.Greedy
                : new SamplingParams { Temperature = temperature, TopP = 0.95f, Seed = seed + (ulong)i };
            i++;
            var (text, stopped) = Complete(model, p.Question, sampling, maxTokens);
            onResult?.Invoke(p, text);
            var s = scores.GetValueOrDefault(p.Kind);
            scores[p.Kind] = (s.N + 1, s.C + (int)Rewards.Accuracy(p, text), s.F + (stopped ? (int)Rewards.Format(text) : 0));
        }
        return TaskGenerator.Kinds.Where(scores.ContainsKey).Select(k => new TaskScore(k, scores[k].N, scores[k].C, scores[k].F)).ToList();
    }

    /// <summary>A markdown table: one row per task and a total.</summary>
    public static string Table(string label, IReadOnlyList<TaskScore> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var sb = new StringBuilder();
        sb.AppendLine("| model | task | n | accuracy | format |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var s in scores)
            sb.AppendLine(FormattableString.Invariant($"| {label} | {s.Kind.ToString().ToLowerInvariant()} | {s.Count} | {s.Accuracy:P1} | {s.FormatRate:P1} |"));
        int n = scores.Sum(s => s.Count), c = scores.Sum(s => s.Correct), f = scores.Sum(s => s.Formatted);
        sb.AppendLine(FormattableString.Invariant($"| {label} | all | {n} | {(double)c / Math.Max(1, n):P1} | {(double)f / Math.Max(1, n):P1} |"));
        return sb.ToString();
    }
}
