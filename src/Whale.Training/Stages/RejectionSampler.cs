using System.Diagnostics;
using Whale.Engine;
using Whale.Sampling;
using Whale.Training.Data;

namespace Whale.Training.Stages;

/// <summary>
/// Rejection sampling as DeepSeek-R1 built its distillation data: the teacher answers each training prompt, up to
/// <c>attempts</c> times, and the first completion that ends with EOS, is well formed and is judged correct by the
/// rule-based rewards is kept; prompts with no passing completion are dropped.
/// </summary>
public static class RejectionSampler
{
    /// <summary>What was kept: the problem and the passing completion, with how many attempts it took.</summary>
    public sealed record Kept(Problem Problem, TeacherSample Sample, int Attempt);

    /// <summary>
    /// Runs <paramref name="teacher"/> (problem, its index, attempt number from 0) over the problems; returns the kept
    /// samples and the number of completions generated.
    /// </summary>
    public static (List<Kept> Kept, int Generated) Run(IReadOnlyList<Problem> problems, Func<Problem, int, int, TeacherSample> teacher,
        int attempts, TrainingLog? log = null)
    {
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(teacher);
        if (attempts < 1) throw new ArgumentOutOfRangeException(nameof(attempts), attempts, "at least one attempt per prompt");
        var kept = new List<Kept>();
        int generated = 0;
        var sw = Stopwatch.StartNew();
        int every = Math.Max(1, problems.Count / 20);
        for (int i = 0; i < problems.Count; i++)
        {
            var p = problems[i];
            for (int a = 0; a < attempts; a++)
            {
                var s = teacher(p, i, a);
                generated++;
                if (!s.Passes(p)) continue;
                kept.Add(new Kept(p, s, a));
                break;
            }
            if (log is not null && ((i + 1) % every == 0 || i + 1 == problems.Count))
                log.Progress("teacher", i + 1, problems.Count, sw.Elapsed,
                    $"kept {kept.Count} ({(double)kept.Count / (i + 1):P1}) of {i + 1} prompts, {generated} completions");
        }
        return (kept, generated);
    }

    /// <summary>
    /// A teacher over a GGUF loaded in Whale's engine: the prompt through the file's chat template, then greedy
    /// (temperature 0) or temperature/top-p sampling with a seed fixed by the problem's index, the attempt and <paramref name="seed"/>.
    /// </summary>
    public static Func<Problem, int, int, TeacherSample> WhaleTeacher(WhaleModel model, float temperature, float topP, int maxTokens, int seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        var gen = model.CreateGenerator(Math.Min(model.ContextSize, 1024));
        var tok = model.Tokenizer;
        return (p, index, attempt) =>
        {
            var sampling = temperature <= 0 ? SamplingParams.Greedy
                : new SamplingParams { Temperature = temperature, TopP = topP, Seed = (ulong)seed * 1_000_003UL + (ulong)index * 64UL + (ulong)attempt };
            var prompt = model.TokenizeChat([new Tokenization.ChatMessage(Tokenization.ChatRole.User, p.Question)]);
            var options = new GenerationOptions { Sampling = sampling, MaxTokens = maxTokens, ParseReasoning = false };
            var ids = new List<int>();
            string? finish = null;
            foreach (var ev in gen.Generate(prompt, options))
            {
                if (ev.TokenId >= 0) ids.Add(ev.TokenId);
                if (ev.FinishReason is not null) finish = ev.FinishReason;
            }
            string text = tok.Decode(ids);
            bool stopped = finish == "stop";
            if (stopped) ids.Add(tok.EosId);
            return new TeacherSample([.. ids], text, stopped);
        };
    }
}
