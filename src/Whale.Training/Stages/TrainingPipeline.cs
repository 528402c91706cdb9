using System.Diagnostics;
using Whale.Engine;
using Whale.Tokenization;
using Whale.Training.Data;
using Whale.Training.Eval;
using Whale.Training.Export;
using Whale.Training.Model;
using static TorchSharp.torch;

namespace Whale.Training.Stages;

/// <summary>
/// The recipe end to end: vocabulary -> pretrain (plain task text) -> SFT cold start (chat format, R1 traces) -> GRPO
/// -> export to GGUF, with a checkpoint after each stage (so a run can resume) and an evaluation of the SFT and final
/// files with Whale's engine. Seeded: the same recipe and seed give the same files on the same machine.
/// </summary>
public sealed class TrainingPipeline(Recipe recipe, string workDir, TrainingLog log, int threads)
{
    public static readonly string[] StageNames = ["pretrain", "sft", "grpo"];

    public VocabData Vocab { get; } = TaskTokenizer.Build(recipe.BpeMerges, recipe.Seed);

    public TinyDeepSeekConfig Config(int vocab) => recipe.Smoke ? TinyDeepSeekConfig.Smoke(vocab) : TinyDeepSeekConfig.Tiny(vocab);

    public string Checkpoint(string stage) => Path.Combine(workDir, stage + ".pt");

    /// <summary>
    /// Runs the stages after <paramref name="resumeFrom"/> (null: all); writes the final GGUF and the SFT GGUF. The
    /// resumed weights come from the stage's checkpoint, or from <paramref name="initFrom"/>, a GGUF this recipe exported
    /// at the end of that stage (e.g. the committed SFT file).
    /// </summary>
    public void Run(string outPath, string? sftOut, string? resumeFrom, bool exportMtp = true, string? initFrom = null)
    {
        if (initFrom is not null && resumeFrom is null)
            throw new ArgumentException("--init-from needs --resume-from STAGE (the stage whose weights the file holds)");
        Directory.CreateDirectory(workDir);
        set_num_threads(threads);
        manual_seed(recipe.Seed);
        var total = Stopwatch.StartNew();
        var tokenizer = new Tokenizer(Vocab);
        var encoder = new TaskEncoder(tokenizer);
        var config = Config(Vocab.Count);
        var model = new DeepSeekV3Model(config);
        long parameters = model.parameters().Sum(p => p.numel());
        log.Line($"recipe {recipe.Name}, seed {recipe.Seed}, vocab {Vocab.Count} ({Vocab.Merges!.Length} merges), {parameters:N0} parameters, {threads} threads");
        int start = 0;
        if (resumeFrom is not null)
        {
            int k = Array.IndexOf(StageNames, resumeFrom);
            if (k < 0) throw new ArgumentException($"unknown stage '{resumeFrom}' (known: {string.Join(", ", StageNames)})");
            if (initFrom is not null) GgufImporter.Import(model, Vocab, initFrom);
            else model.load(Checkpoint(resumeFrom));
            log.Line($"resumed after {resumeFrom} from {initFrom ?? Checkpoint(resumeFrom)}");
            start = k + 1;
        }
        var trainer = new LanguageModelTrainer(model, recipe, log);
        for (int s = start; s < StageNames.Length; s++)
        {
            var sw = Stopwatch.StartNew();
            var gen = new TaskGenerator(recipe.Seed * 31 + s);
            switch (StageNames[s])
            {
                case "pretrain":
                    float lp = trainer.Train("pretrain", recipe.PretrainSteps, recipe.PretrainLr,
                        () => Enumerable.Range(0, recipe.BatchSize).Select(_ => encoder.Plain(gen.Next(heldOut: false))).ToList(), tokenizer.Vocab.PadId ?? 2);
                    log.Line($"pretrain done in {sw.Elapsed.TotalSeconds:F0}s, final loss {lp:F4}");
                    break;
                case "sft":
                    float ls = trainer.Train("sft", recipe.SftSteps, recipe.SftLr,
                        () => Enumerable.Range(0, recipe.BatchSize).Select(_ => encoder.Chat(gen.Next(heldOut: false))).ToList(), tokenizer.Vocab.PadId ?? 2);
                    log.Line($"sft done in {sw.Elapsed.TotalSeconds:F0}s, final loss {ls:F4}");
                    string sftPath = sftOut ?? Path.Combine(workDir, "sft.gguf");
                    GgufExporter.Export(model, Vocab, sftPath, exportMtp, "whale-r1-tiny-sft");
                    log.Line($"exported {sftPath}");
                    break;
                case "grpo":
                    var reference = new DeepSeekV3Model(config);
                    reference.load_state_dict(model.state_dict());
                    new GrpoTrainer(model, reference, encoder, recipe, log).Train(gen);
                    log.Line($"grpo done in {sw.Elapsed.TotalSeconds:F0}s");
                    break;
            }
            model.save(Checkpoint(StageNames[s]));
        }
        var names = GgufExporter.Export(model, Vocab, outPath, exportMtp);
        log.Line($"exported {outPath}: {names.Count} tensors, {new FileInfo(outPath).Length / 1024.0 / 1024.0:F2} MiB; training took {total.Elapsed.TotalMinutes:F1} min");
    }

    /// <summary>Scores a file on the held-out sample and logs the table.</summary>
    public static List<TaskScore> Evaluate(string path, int perTask, float temperature, ulong seed, int threads, TrainingLog log, int maxTokens = 200) =>
        Evaluator.Summarize(Evaluate(path, TaskGenerator.HeldOutSample(perTask), temperature, 1, seed, threads, log, maxTokens));

    /// <summary>Scores a file on the given problems, <paramref name="samples"/> completions each, logs the table and returns the per-question scores.</summary>
    public static QuestionScore[] Evaluate(string path, IReadOnlyList<Problem> problems, float temperature, int samples, ulong seed, int threads, TrainingLog log, int maxTokens = 200)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} not found", path);
        using var model = WhaleModel.Load(path, new ModelOptions { Threads = threads });
        var sw = Stopwatch.StartNew();
        var scores = Evaluator.Score(model, problems, temperature, seed, samples, maxTokens);
        string decoding = temperature <= 0 ? "greedy" : FormattableString.Invariant($"sampled T={temperature}, {samples} per question");
        log.Line(FormattableString.Invariant($"{Path.GetFileName(path)} {decoding} ({sw.Elapsed.TotalSeconds:F0}s):\n") +
                 Evaluator.Table(Path.GetFileNameWithoutExtension(path) + (temperature <= 0 ? " greedy" : " sampled"), Evaluator.Summarize(scores)));
        return scores;
    }
}
