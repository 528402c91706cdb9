using Whale.Engine;
using Whale.Training.Data;
using Whale.Training.Stages;

namespace Whale.Training.Tests.Stages;

public class RejectionSamplerTests
{
    private static TeacherSample Sample(string text, bool stopped) => new([1, 2, 3], text, stopped);

    private static string Right(Problem p) => p.Completion;

    private static string Wrong(Problem p) => p.Trace + "\n</think>\n\nThe answer is \\boxed{" + (p.Target + 1) + "}.";

    [Fact]
    public void KeepsOnlyCorrectWellFormedCompletionsThatEndWithEos()
    {
        var gen = new TaskGenerator(21);
        var problems = Enumerable.Range(0, 12).Select(_ => gen.Next(TaskKind.Add, heldOut: false)).ToList();
        // per problem i % 4: 0 always wrong; 1 malformed then right; 2 right but cut off (no EOS) then right; 3 right at once
        TeacherSample Teacher(Problem p, int i, int attempt) => (i % 4, attempt) switch
        {
            (0, _) => Sample(Wrong(p), true),
            (1, 0) => Sample(p.Trace + " The answer is \\boxed{" + p.Target + "}.", true),
            (2, 0) => Sample(Right(p), false),
            _ => Sample(Right(p), true),
        };
        var (kept, generated) = RejectionSampler.Run(problems, Teacher, attempts: 3);
        Assert.Equal(3 + 2 + 2 + 1, generated / 3);  // 3 tries for i%4==0, 2 for 1 and 2, 1 for 3 (three of each)
        Assert.Equal(9, kept.Count);
        Assert.DoesNotContain(kept, k => problems.IndexOf(k.Problem) % 4 == 0);
        Assert.All(kept, k =>
        {
            Assert.True(k.Sample.Stopped);
            Assert.Equal(1f, Rewards.Accuracy(k.Problem, k.Sample.Text));
            Assert.Equal(1f, Rewards.Format(k.Sample.Text));
            Assert.Equal(problems.IndexOf(k.Problem) % 4 == 3 ? 0 : 1, k.Attempt);
        });
        // one attempt: the second chances are gone
        Assert.Equal(3, RejectionSampler.Run(problems, Teacher, attempts: 1).Kept.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => RejectionSampler.Run(problems, Teacher, attempts: 0));
    }

    /// <summary>
    /// The committed teacher through Whale's engine on countdown and multiplication prompts (where it is often wrong):
    /// every kept completion decodes to a correct, well-formed answer that ended with EOS, and a prompt is dropped
    /// only when all its attempts failed.
    /// </summary>
    [Fact]
    public void ShippedTeacherRejectionSampling()
    {
        using var teacher = WhaleModel.Load(TestModels.TeacherPath(), new ModelOptions { Threads = 2 });
        var gen = new TaskGenerator(5);
        var problems = Enumerable.Range(0, 10).Select(i => gen.Next(i < 7 ? TaskKind.Countdown : TaskKind.Mul, heldOut: false)).ToList();
        var inner = RejectionSampler.WhaleTeacher(teacher, 0.6f, 0.95f, 200, seed: 3);
        var seen = new List<(int Index, TeacherSample Sample)>();
        var (kept, generated) = RejectionSampler.Run(problems, (p, i, a) =>
        {
            var s = inner(p, i, a);
            seen.Add((i, s));
            return s;
        }, attempts: 2);
        Assert.Equal(seen.Count, generated);
        Assert.Contains(seen, s => !s.Sample.Passes(problems[s.Index])); // the teacher does fail here, so the filter is exercised
        Assert.NotEmpty(kept);
        var tok = teacher.Tokenizer;
        foreach (var k in kept)
        {
            Assert.Equal(tok.EosId, k.Sample.Ids[^1]);
            string text = tok.Decode(k.Sample.Ids[..^1]);
            Assert.Equal(k.Sample.Text, text);
            Assert.Equal(1f, Rewards.Accuracy(k.Problem, text));
            Assert.Equal(1f, Rewards.Format(text));
        }
        for (int i = 0; i < problems.Count; i++)
        {
            var tries = seen.Where(s => s.Index == i).Select(s => s.Sample).ToList();
            bool anyPass = tries.Any(s => s.Passes(problems[i]));
            Assert.Equal(anyPass, kept.Any(k => ReferenceEquals(k.Problem, problems[i])));
            Assert.Equal(anyPass ? tries.FindIndex(s => s.Passes(problems[i])) + 1 : 2, tries.Count); // stops at the first pass
        }
        // seeded: the same teacher, seed and prompts give the same completions
        var again = RejectionSampler.WhaleTeacher(teacher, 0.6f, 0.95f, 200, seed: 3)(problems[0], 0, 0);
        Assert.Equal(seen[0].Sample.Ids, again.Ids);
    }
}
