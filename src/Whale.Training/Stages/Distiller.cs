using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Whale.Engine;
using Whale.Tokenization;
using Whale.Training.Data;
using Whale.Training.Export;
using Whale.Training.Model;
using static TorchSharp.torch;

namespace Whale.Training.Stages;

/// <summary>
/// The distillation stage, as DeepSeek-R1 distilled into Qwen2 and Llama models: the teacher GGUF (the final GRPO
/// model), run by Whale's engine, answers training prompts; rejection sampling keeps completions that end with EOS,
/// are well formed and correct; a dense <see cref="Qwen2Model"/> student is fine-tuned on them (loss on the assistant
/// turn only, optionally mixed with original SFT traces) and exported as a qwen2 GGUF with the teacher's tokenizer
/// and chat template. The kept completions are written to <c>distill-traces.tsv</c> in the work directory and reused
/// while teacher and settings are unchanged. Seeded end to end.
/// </summary>
public sealed class Distiller(DistillRecipe recipe, string workDir, TrainingLog log, int threads)
{
    public const string StageName = "distill";

    public string TracesPath => Path.Combine(workDir, "distill-traces.tsv");

    /// <summary>Runs the stage with the teacher file <paramref name="teacherPath"/>; writes the student to <paramref name="studentOut"/>.</summary>
    public void Run(string teacherPath, string studentOut, Func<int, TinyQwen2Config>? config = null)
    {
        ArgumentNullException.ThrowIfNull(teacherPath);
        if (!File.Exists(teacherPath)) throw new FileNotFoundException($"teacher model {teacherPath} not found", teacherPath);
        if (recipe.OriginalFraction is < 0f or > 1f || float.IsNaN(recipe.OriginalFraction))
            throw new ArgumentException($"the share of original traces must be between 0 and 1, not {recipe.OriginalFraction}");
        if (recipe.Prompts < 0 || recipe.Attempts < 1 || recipe.Steps < 1 || recipe.BatchSize < 1)
            throw new ArgumentException($"invalid distillation settings {recipe}");
        Directory.CreateDirectory(workDir);
        var total = Stopwatch.StartNew();
        using var teacher = WhaleModel.Load(teacherPath, new ModelOptions { Threads = threads });
        var vocab = VocabData.FromGguf(teacher.File);
        var encoder = new TaskEncoder(teacher.Tokenizer);
        log.Line($"{StageName}: teacher {Path.GetFileName(teacherPath)} ({teacher.Config.Architecture}, vocab {vocab.Count}), "
               + $"{recipe.Prompts} prompts, up to {recipe.Attempts} attempts at T={recipe.Temperature.ToString(CultureInfo.InvariantCulture)}");

        var traces = LoadOrGenerateTraces(teacher, teacherPath, encoder);
        if (traces.Count == 0 && recipe.OriginalFraction <= 0)
            throw new InvalidOperationException($"{StageName}: the teacher passed on none of {recipe.Prompts} prompts; nothing to distill");
        if (traces.Count == 0) log.Line($"{StageName}: no teacher sample passed; the student trains on original SFT traces only");

        set_num_threads(threads);
        manual_seed(recipe.Seed + 101);
        var c = config?.Invoke(vocab.Count) ?? TinyQwen2Config.Tiny(vocab.Count);
        var student = new Qwen2Model(c);
        long parameters = student.parameters().Sum(p => p.numel());
        log.Line($"{StageName}: student qwen2 {c.Layers} layers, E {c.Embed}, {c.Heads} heads / {c.KvHeads} kv, FFN {c.Ffn}, "
               + $"{(c.TiedEmbeddings ? "tied" : "untied")} head: {parameters:N0} parameters");
        var sw = Stopwatch.StartNew();
        var order = new Random(recipe.Seed + 13);
        var original = new TaskGenerator(recipe.Seed * 31 + 8);
        // shuffled epochs over all kept completions, or (balanced) over each kind's, with the kind drawn uniformly
        var pools = recipe.BalanceKinds
            ? traces.GroupBy(t => t.Kind).OrderBy(g => g.Key).Select(g => new ShuffledPool(g.Select(t => t.Example).ToList())).ToList()
            : [new ShuffledPool(traces.Select(t => t.Example).ToList())];
        pools.RemoveAll(p => p.Count == 0);
        log.Line($"{StageName}: batches of {recipe.BatchSize}, {recipe.OriginalFraction:P0} original SFT traces, teacher examples "
               + (recipe.BalanceKinds ? $"balanced over {pools.Count} kinds ({string.Join(", ", pools.Select(p => p.Count))} examples)" : "uniform"));
        IReadOnlyList<Encoded> NextBatch() => [.. Enumerable.Range(0, recipe.BatchSize).Select(_ =>
            pools.Count == 0 || order.NextDouble() < recipe.OriginalFraction
                ? encoder.Chat(original.Next(heldOut: false))
                : pools[pools.Count == 1 ? 0 : order.Next(pools.Count)].Next(order))];
        float loss = new StudentTrainer(student, log).Train(StageName, recipe.Steps, recipe.Lr, NextBatch, vocab.PadId ?? 2);
        log.Line($"{StageName}: student trained in {sw.Elapsed.TotalSeconds:F0}s, final loss {loss:F4}");
        student.save(Path.Combine(workDir, "distill.pt"));
        string? dir = Path.GetDirectoryName(Path.GetFullPath(studentOut));
        if (dir is not null) Directory.CreateDirectory(dir);
        var names = Qwen2GgufExporter.Export(student, vocab, studentOut, Path.GetFileNameWithoutExtension(studentOut));
        log.Line($"{StageName} done in {total.Elapsed.TotalSeconds:F0}s: exported {studentOut}: {names.Count} tensors, "
               + $"{new FileInfo(studentOut).Length / 1024.0 / 1024.0:F2} MiB");
    }

    /// <summary>The kept teacher completions as training examples (prompt untrained, completion and EOS trained), with their task kind.</summary>
    private List<(TaskKind Kind, Encoded Example)> LoadOrGenerateTraces(WhaleModel teacher, string teacherPath, TaskEncoder encoder)
    {
        string header = string.Create(CultureInfo.InvariantCulture,
            $"# kind/question/ids; teacher {Sha256(teacherPath)} prompts {recipe.Prompts} attempts {recipe.Attempts} temperature {recipe.Temperature} top-p {recipe.TopP} max {recipe.MaxNewTokens} seed {recipe.Seed}");
        var rows = new List<(TaskKind Kind, string Question, int[] Ids)>();
        if (File.Exists(TracesPath) && File.ReadLines(TracesPath).FirstOrDefault() == header)
        {
            foreach (var line in File.ReadLines(TracesPath).Skip(1))
            {
                var cols = line.Split('\t');
                rows.Add((Enum.Parse<TaskKind>(cols[0]), cols[1], [.. cols[2].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]));
            }
            log.Line($"{StageName}: reusing {rows.Count} teacher completions from {TracesPath}");
        }
        else
        {
            var gen = new TaskGenerator(recipe.Seed * 31 + 7);
            var problems = Enumerable.Range(0, recipe.Prompts).Select(_ => gen.Next(heldOut: false)).ToList();
            int attempts = recipe.Temperature <= 0 ? 1 : recipe.Attempts;
            var sw = Stopwatch.StartNew();
            var (kept, generated) = RejectionSampler.Run(problems,
                RejectionSampler.WhaleTeacher(teacher, recipe.Temperature, recipe.TopP, recipe.MaxNewTokens, recipe.Seed), attempts, log);
            var byKind = TaskGenerator.Kinds.Select(k =>
                $"{k.ToString().ToLowerInvariant()} {kept.Count(x => x.Problem.Kind == k)}/{problems.Count(p => p.Kind == k)}");
            log.Line($"{StageName}: rejection sampling kept {kept.Count} of {problems.Count} prompts ({string.Join(", ", byKind)}) "
                   + $"from {generated} completions in {sw.Elapsed.TotalSeconds:F0}s");
            using var w = new StreamWriter(TracesPath);
            w.WriteLine(header);
            foreach (var k in kept)
            {
                rows.Add((k.Problem.Kind, k.Problem.Question, k.Sample.Ids));
                w.WriteLine(k.Problem.Kind + "\t" + k.Problem.Question + "\t" + string.Join(',', k.Sample.Ids.Select(i => i.ToString(CultureInfo.InvariantCulture))));
            }
        }
        return rows.Select(r => (r.Kind, Example(encoder, r.Question, r.Ids))).ToList();
    }

    /// <summary>An SFT example from a question and the teacher's completion ids (EOS included): only the completion is trained.</summary>
    public static Encoded Example(TaskEncoder encoder, string question, int[] completion)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(completion);
        var prompt = encoder.Prompt(question);
        var trained = new bool[prompt.Length + completion.Length];
        Array.Fill(trained, true, prompt.Length, completion.Length);
        return new Encoded([.. prompt, .. completion], trained, prompt.Length);
    }

    /// <summary>Examples served in shuffled epochs.</summary>
    private sealed class ShuffledPool(List<Encoded> items)
    {
        private readonly int[] _perm = [.. Enumerable.Range(0, items.Count)];
        private int _cursor = items.Count;

        public int Count => items.Count;

        public Encoded Next(Random rng)
        {
            if (_cursor >= _perm.Length) { rng.Shuffle(_perm); _cursor = 0; }
            return items[_perm[_cursor++]];
        }
    }

    private static string Sha256(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(s))[..16];
    }
}
