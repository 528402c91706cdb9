namespace Whale.Training.Stages;

/// <summary>
/// Settings of the distillation stage (R1-Distill in miniature): how many training prompts the teacher answers, how
/// (temperature, attempts until one passes the rule-based check), and the student's supervised fine-tuning.
/// </summary>
public sealed record DistillRecipe
{
    public int Seed { get; init; } = 1234;
    /// <summary>Training prompts given to the teacher (the held-out split is never drawn).</summary>
    public int Prompts { get; init; } = 12000;
    /// <summary>Samples per prompt until one is correct and well formed (rejection sampling); 1 when greedy.</summary>
    public int Attempts { get; init; } = 4;
    /// <summary>Teacher sampling temperature (0 = greedy); R1's recommended 0.6 with top-p 0.95.</summary>
    public float Temperature { get; init; } = 0.6f;
    public float TopP { get; init; } = 0.95f;
    public int MaxNewTokens { get; init; } = 200;
    public int Steps { get; init; } = 3000;
    public int BatchSize { get; init; } = 16;
    public float Lr { get; init; } = 2e-3f;
    /// <summary>Share of each batch taken from the original SFT traces instead of the teacher's (0 = teacher only).</summary>
    public float OriginalFraction { get; init; }
    /// <summary>
    /// Draw the task kind of each teacher example uniformly, then an example of that kind: rejection sampling keeps
    /// fewer of the hard kinds (countdown), which would otherwise be under-represented. False: uniform over kept examples.
    /// </summary>
    public bool BalanceKinds { get; init; } = true;

    /// <summary>The distillation settings that go with a training recipe (tiny or smoke), seeded from it.</summary>
    public static DistillRecipe For(Recipe recipe)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        var d = new DistillRecipe { Seed = recipe.Seed };
        // the smoke teacher has barely trained and rarely passes: half of each batch is original traces so the stage still trains
        return recipe.Smoke
            ? d with { Prompts = 8, Attempts = 2, MaxNewTokens = 48, Steps = 10, BatchSize = 8, OriginalFraction = 0.5f }
            : d;
    }
}
