using System.Globalization;
using Whale.Training.Stages;

namespace Whale.Training;

/// <summary>
/// Commands: <c>train</c> (the recipe: pretrain -> SFT -> GRPO -> GGUF, then distillation into a qwen2 student),
/// <c>distill</c> (only the distillation, from any teacher GGUF) and <c>eval</c> (score a GGUF on the held-out problems
/// with Whale's engine). Reached as <c>whale train ...</c> / <c>whale train eval ...</c> or directly.
/// </summary>
public static class TrainingCli
{
    private const string Usage = """
usage: whale train [--recipe tiny|smoke] [--out models/whale-r1-tiny.gguf] [--sft-out PATH] [--work DIR]
                   [--seed N] [--threads N] [--resume-from pretrain|sft|grpo] [--init-from GGUF] [--no-mtp] [--eval-per-task N]
                   [--distill|--no-distill] [--student-out PATH]
       whale train distill [--teacher models/whale-r1-tiny.gguf] [--out PATH] [--recipe tiny|smoke] [--work DIR]
                   [--seed N] [--threads N] [--eval-per-task N] [--mix F (share of original SFT traces, 0..1)] [--no-balance]
       whale train eval --model PATH [--compare PATH[,PATH...]] [--per-task N] [--temperature T] [--samples K] [--seed N]
                   [--sample-seed N] [--max-tokens N] [--threads N]
""";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        try
        {
            var rest = args.ToList();
            string verb = rest.Count > 0 && !rest[0].StartsWith('-') ? rest[0] : "train";
            if (rest.Count > 0 && !rest[0].StartsWith('-')) rest.RemoveAt(0);
            var opts = Parse(rest);
            string Opt(string k, string d) => opts.TryGetValue(k, out var v) ? v : d;
            // one libtorch thread by default: on a busy 2-core machine its OpenMP workers spin against each other (10x slower)
            int threads = int.Parse(Opt("threads", "1"), CultureInfo.InvariantCulture);
            switch (verb)
            {
                case "train":
                {
                    var recipe = Recipe.Get(Opt("recipe", "tiny"));
                    if (opts.TryGetValue("seed", out var seed)) recipe = recipe with { Seed = int.Parse(seed, CultureInfo.InvariantCulture) };
                    string work = Opt("work", Path.Combine("artifacts", "train-" + recipe.Name));
                    Directory.CreateDirectory(work);
                    string outPath = Opt("out", Path.Combine(work, "whale-r1-" + recipe.Name + ".gguf"));
                    string? sftOut = opts.GetValueOrDefault("sft-out");
                    using var log = new TrainingLog(stdout, Path.Combine(work, "train.log"));
                    if (opts.ContainsKey("distill") && opts.ContainsKey("no-distill")) throw new ArgumentException("--distill and --no-distill exclude each other");
                    bool distill = !opts.ContainsKey("no-distill");
                    string studentOut = Opt("student-out", Path.Combine(work, "whale-r1-" + recipe.Name + "-distill-qwen2.gguf"));
                    var pipeline = new TrainingPipeline(recipe, work, log, threads);
                    string? initFrom = opts.GetValueOrDefault("init-from");
                    pipeline.Run(outPath, sftOut, opts.GetValueOrDefault("resume-from"), !opts.ContainsKey("no-mtp"), initFrom);
                    var distillRecipe = DistillRecipe.For(recipe);
                    if (distill) new Distiller(distillRecipe, work, log, threads).Run(outPath, studentOut, StudentConfig(recipe));
                    int perTask = int.Parse(Opt("eval-per-task", recipe.EvalPerTask.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
                    if (perTask > 0)
                    {
                        TrainingPipeline.Evaluate(initFrom ?? sftOut ?? Path.Combine(work, "sft.gguf"), perTask, 0f, 1, threads, log, recipe.MaxNewTokens + 40);
                        TrainingPipeline.Evaluate(outPath, perTask, 0f, 1, threads, log, recipe.MaxNewTokens + 40);
                        if (distill) TrainingPipeline.Evaluate(studentOut, perTask, 0f, 1, threads, log, distillRecipe.MaxNewTokens);
                    }
                    return 0;
                }
                case "distill":
                {
                    var recipe = Recipe.Get(Opt("recipe", "tiny"));
                    if (opts.TryGetValue("seed", out var seed)) recipe = recipe with { Seed = int.Parse(seed, CultureInfo.InvariantCulture) };
                    string teacher = Opt("teacher", Path.Combine("models", "whale-r1-tiny.gguf"));
                    string work = Opt("work", Path.Combine("artifacts", "distill-" + recipe.Name));
                    Directory.CreateDirectory(work);
                    string studentOut = Opt("out", Path.Combine(work, Path.GetFileNameWithoutExtension(teacher) + "-distill-qwen2.gguf"));
                    using var log = new TrainingLog(stdout, Path.Combine(work, "train.log"));
                    var distillRecipe = DistillRecipe.For(recipe);
                    if (opts.TryGetValue("mix", out var mix)) distillRecipe = distillRecipe with { OriginalFraction = float.Parse(mix, CultureInfo.InvariantCulture) };
                    if (opts.ContainsKey("no-balance")) distillRecipe = distillRecipe with { BalanceKinds = false };
                    new Distiller(distillRecipe, work, log, threads).Run(teacher, studentOut, StudentConfig(recipe));
                    int perTask = int.Parse(Opt("eval-per-task", recipe.EvalPerTask.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
                    if (perTask > 0) TrainingPipeline.Evaluate(studentOut, perTask, 0f, 1, threads, log, distillRecipe.MaxNewTokens);
                    return 0;
                }
                case "eval":
                {
                    string model = opts.GetValueOrDefault("model") ?? throw new ArgumentException("eval needs --model PATH");
                    string? other = opts.GetValueOrDefault("compare");
                    int perTask = int.Parse(Opt("per-task", "50"), CultureInfo.InvariantCulture);
                    float temperature = float.Parse(Opt("temperature", "0"), CultureInfo.InvariantCulture);
                    int samples = int.Parse(Opt("samples", "1"), CultureInfo.InvariantCulture);
                    ulong seed = ulong.Parse(Opt("seed", "1"), CultureInfo.InvariantCulture);
                    int maxTokens = int.Parse(Opt("max-tokens", "200"), CultureInfo.InvariantCulture);
                    if (perTask < 1) throw new ArgumentException("--per-task must be at least 1");
                    if (samples < 1) throw new ArgumentException("--samples must be at least 1");
                    if (samples > 1 && temperature <= 0) throw new ArgumentException("--samples above 1 needs --temperature above 0 (greedy decoding gives one answer)");
                    var problems = Data.TaskGenerator.HeldOutSample(perTask, int.Parse(Opt("sample-seed", "12345"), CultureInfo.InvariantCulture));
                    using var log = new TrainingLog(stdout, null);
                    var a = TrainingPipeline.Evaluate(model, problems, temperature, samples, seed, threads, log, maxTokens);
                    // each file of --compare (comma-separated) against --model, on the same questions and sampling seeds
                    foreach (var path in other?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [])
                    {
                        var b = TrainingPipeline.Evaluate(path, problems, temperature, samples, seed, threads, log, maxTokens);
                        bool sameName = Path.GetFileName(model) == Path.GetFileName(path);
                        log.Line(Eval.PairedComparison.Table(sameName ? model : Path.GetFileName(model), sameName ? path : Path.GetFileName(path),
                            Eval.PairedComparison.ByTask(a, b)));
                    }
                    return 0;
                }
                default:
                    stderr.Write(Usage);
                    return 2;
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or InvalidDataException or InvalidOperationException)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static Func<int, Model.TinyQwen2Config> StudentConfig(Recipe recipe) =>
        recipe.Smoke ? Model.TinyQwen2Config.Smoke : Model.TinyQwen2Config.Tiny;

    private static Dictionary<string, string> Parse(List<string> args)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{args[i]}'\n{Usage}");
            string key = args[i][2..];
            if (key is "no-mtp" or "distill" or "no-distill" or "no-balance") { d[key] = "1"; continue; }
            if (i + 1 >= args.Count) throw new ArgumentException($"--{key} needs a value");
            d[key] = args[++i];
        }
        return d;
    }
}
