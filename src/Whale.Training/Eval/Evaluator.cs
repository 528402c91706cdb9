using System.Text;
using Whale.Engine;
using Whale.Sampling;
using Whale.Tokenization;
using Whale.Training.Data;

namespace Whale.Training.Eval;

/// <summary>
/// Scores a GGUF on held-out problems with Whale's own engine (no TorchSharp): each question goes through the file's
/// chat template, the answer is generated greedily or sampled (temperature 0.6, top-p 0.95 as R1 recommends), and
/// the rule-based rewards judge it. Format counts only completions that ended with EOS. Several samples per question
/// give a mean accuracy per question (<see cref="Score"/>), which <see cref="PairedComparison"/> compares between two files.
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

    /// <summary>Scores the problems with one completion each (greedy, or sampled with seed <c>seed + i</c>) and sums them per task.</summary>
    public static List<TaskScore> Evaluate(WhaleModel model, IReadOnlyList<Problem> problems, float temperature, ulong seed, int maxTokens = 200, Action<Problem, string>? onResult = null) =>
        Summarize(Score(model, problems, temperature, seed, 1, maxTokens, onResult));

    /// <summary>
    /// Scores every problem with <paramref name="samples"/> completions (greedy: one, whatever is asked; sampled: question
    /// i, sample j uses seed <c>seed + i·samples + j</c>, so one sample reproduces <see cref="Evaluate"/>).
    /// </summary>
    public static QuestionScore[] Score(WhaleModel model, IReadOnlyList<Problem> problems, float temperature, ulong seed, int samples = 1, int maxTokens = 200, Action<Problem, string>? onResult = null)
    {
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentOutOfRangeException.ThrowIfLessThan(samples, 1);
        if (temperature <= 0) samples = 1;
        var result = new QuestionScore[problems.Count];
        for (int i = 0; i < problems.Count; i++)
        {
            var p = problems[i];
            int correct = 0, formatted = 0;
            for (int j = 0; j < samples; j++)
            {
                var sampling = temperature <= 0 ? SamplingParams.Greedy
                    : new SamplingParams { Temperature = temperature, TopP = 0.95f, Seed = seed + (ulong)(i * samples + j) };
                var (text, stopped) = Complete(model, p.Question, sampling, maxTokens);
                onResult?.Invoke(p, text);
                correct += (int)Rewards.Accuracy(p, text);
                formatted += stopped ? (int)Rewards.Format(text) : 0;
            }
            result[i] = new QuestionScore(p.Kind, samples, correct, formatted);
        }
        return result;
    }

    /// <summary>Sums question scores per task, in table order.</summary>
    public static List<TaskScore> Summarize(IReadOnlyList<QuestionScore> questions)
    {
        ArgumentNullException.ThrowIfNull(questions);
        return TaskGenerator.Kinds.Where(k => questions.Any(q => q.Kind == k)).Select(k =>
        {
            var qs = questions.Where(q => q.Kind == k).ToList();
            return new TaskScore(k, qs.Sum(q => q.Samples), qs.Sum(q => q.Correct), qs.Sum(q => q.Formatted)) { Samples = qs[0].Samples };
        }).ToList();
    }

    /// <summary>A markdown table: one row per task and a total.</summary>
    public static string Table(string label, IReadOnlyList<TaskScore> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var sb = new StringBuilder();
        sb.AppendLine("| model | task | questions | samples | accuracy | format |");
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var s in scores)
            sb.AppendLine(FormattableString.Invariant($"| {label} | {s.Kind.ToString().ToLowerInvariant()} | {s.Count / s.Samples} | {s.Samples} | {s.Accuracy:P1} | {s.FormatRate:P1} |"));
        int n = scores.Sum(s => s.Count), c = scores.Sum(s => s.Correct), f = scores.Sum(s => s.Formatted);
        int questions = scores.Sum(s => s.Count / s.Samples), k = scores.Count == 0 ? 1 : scores[0].Samples;
        sb.AppendLine(FormattableString.Invariant($"| {label} | all | {questions} | {k} | {(double)c / Math.Max(1, n):P1} | {(double)f / Math.Max(1, n):P1} |"));
        return sb.ToString();
    }
}
