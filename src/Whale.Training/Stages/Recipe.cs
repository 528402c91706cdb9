namespace Whale.Training.Stages;

/// <summary>Every setting of a training run: model size, stage lengths and learning rates, seeds.</summary>
public sealed record Recipe
{
    public string Name { get; init; } = "tiny";
    public int Seed { get; init; } = 1234;
    public bool Smoke { get; init; }
    public int BpeMerges { get; init; } = 160;
    public int BatchSize { get; init; } = 16;
    public int PretrainSteps { get; init; } = 1500;
    public float PretrainLr { get; init; } = 3e-3f;
    public int SftSteps { get; init; } = 2500;
    public float SftLr { get; init; } = 1e-3f;
    /// <summary>MTP loss weight (DeepSeek-V3 uses 0.3 early, 0.1 later).</summary>
    public float MtpWeight { get; init; } = 0.3f;
    /// <summary>Bias update speed of the auxiliary-loss-free balancing.</summary>
    public float BiasGamma { get; init; } = 0.002f;
    /// <summary>
    /// Bias update speed during GRPO. 0: the routing stays as SFT left it. Balancing on at the pretraining speed moved
    /// the biases by up to 0.16 over a run (the router's weak RL gradient no longer holds them in place), which re-routed
    /// tokens and cost held-out accuracy on every task.
    /// </summary>
    public float GrpoBiasGamma { get; init; }
    public int GrpoSteps { get; init; } = 100;
    public int GrpoPrompts { get; init; } = 32;
    public int GrpoGroup { get; init; } = 16;
    public int GrpoInner { get; init; } = 1;
    public float GrpoLr { get; init; } = 1e-4f;
    public float GrpoClip { get; init; } = 0.2f;
    public float GrpoKl { get; init; } = 0.04f;
    public float GrpoTemperature { get; init; } = 0.6f;
    /// <summary>
    /// Weight of the reasoning reward (<see cref="Data.Rewards.Reasoning"/>: every step of the working is true) next to
    /// accuracy; 0 rewards the answer alone, as R1 does.
    /// </summary>
    public float GrpoReasoningWeight { get; init; }
    /// <summary>Weight of the format reward next to accuracy.</summary>
    public float GrpoFormatWeight { get; init; } = 0.2f;
    /// <summary>
    /// True: GRPO's advantages (r - mean) / std and per-completion token means; false: Dr. GRPO's (r - mean) and token
    /// sums divided by <see cref="MaxNewTokens"/>.
    /// </summary>
    public bool GrpoScaleByStd { get; init; } = true;
    /// <summary>
    /// Relative frequency of add, sub, mul, countdown prompts in GRPO; null draws kinds uniformly. The shipped run
    /// favours the unsaturated tasks; dropping add and sub altogether (0, 0, 1, 3) cost 2.4 points of held-out add.
    /// </summary>
    public IReadOnlyList<int>? GrpoKindWeights { get; init; } = [1, 1, 2, 4];
    public int MaxNewTokens { get; init; } = 160;
    public int DistillSteps { get; init; }
    public int EvalPerTask { get; init; } = 100;

    public static Recipe Get(string name) => name switch
    {
        "tiny" => new Recipe(),
        "smoke" => new Recipe
        {
            Name = "smoke", Smoke = true, BpeMerges = 60, BatchSize = 8, PretrainSteps = 20, SftSteps = 20,
            GrpoSteps = 2, GrpoPrompts = 2, GrpoGroup = 4, GrpoInner = 1, MaxNewTokens = 48, EvalPerTask = 3,
        },
        _ => throw new ArgumentException($"unknown recipe '{name}' (known: tiny, smoke)"),
    };
}
