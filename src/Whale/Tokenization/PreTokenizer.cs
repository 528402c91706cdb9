namespace Whale.Tokenization;

/// <summary>
/// A llama.cpp pre-tokenizer (<c>tokenizer.ggml.pre</c>): a sequence of split stages turning text into the words that
/// BPE then encodes one by one.
/// </summary>
internal sealed class PreTokenizer
{
    private readonly SplitStage[] _stages;

    private PreTokenizer(string name, bool ignoreMerges, bool addBosDefault, params SplitStage[] stages)
    {
        Name = name;
        IgnoreMerges = ignoreMerges;
        AddBosDefault = addBosDefault;
        _stages = stages;
    }

    /// <summary>The pre-tokenizer name as given.</summary>
    public string Name { get; }

    /// <summary>Whether a word that is a whole vocab entry skips the merges (llama-bpe).</summary>
    public bool IgnoreMerges { get; }

    /// <summary>The add_bos default of this pre type (metadata overrides it).</summary>
    public bool AddBosDefault { get; }

    /// <summary>The names this implementation understands.</summary>
    public static IReadOnlyList<string> KnownNames { get; } =
        ["default", "gpt-2", "llama3", "llama-v3", "llama-bpe", "qwen2", "deepseek-r1-qwen", "deepseek-llm", "deepseek-coder", "deepseek-v3"];

    /// <summary>Creates the pre-tokenizer for a <c>tokenizer.ggml.pre</c> value (null or empty: "default").</summary>
    /// <exception cref="NotSupportedException">The name is not one llama.cpp's supported DeepSeek/Qwen/Llama/GPT-2 types.</exception>
    public static PreTokenizer Create(string? name)
    {
        switch (name)
        {
            case null or "" or "default":
                return new PreTokenizer("default", false, false, new Gpt2Stage());
            case "gpt-2":
                return new PreTokenizer(name, false, false, new Gpt2Stage());
            case "llama3" or "llama-v3" or "llama-bpe":
                return new PreTokenizer(name, true, true, new Llama3Stage(3));
            case "qwen2" or "deepseek-r1-qwen":
                return new PreTokenizer(name, false, false, new Llama3Stage(1));
            case "deepseek-llm":
                return new PreTokenizer(name, false, false,
                    new MatchStage(Matchers.NewlineChar),
                    new MatchStage(Matchers.LlmLetters),
                    new MatchStage(Matchers.LlmPunctuation),
                    new TrailingSpaceStage(),
                    new MatchStage(Matchers.LlmCjkRun),
                    new MatchStage(Matchers.NumberRun));
            case "deepseek-coder":
                return new PreTokenizer(name, false, false,
                    new MatchStage(Matchers.NewlineChar),
                    new MatchStage(Matchers.SpaceLetters),
                    new MatchStage(Matchers.SpacePunctuation),
                    new MatchStage(Matchers.LlmCjkRun),
                    new MatchStage(Matchers.SingleNumber));
            case "deepseek-v3":
                return new PreTokenizer(name, false, false,
                    new MatchStage(Matchers.Numbers1To3),
                    new MatchStage(Matchers.V3CjkRun),
                    new MatchStage(Matchers.V3Main));
            default:
                throw new NotSupportedException(
                    $"unknown pre-tokenizer type '{name}' (tokenizer.ggml.pre); supported: {string.Join(", ", KnownNames)}");
        }
    }

    /// <summary>Whether <paramref name="name"/> names a supported pre-tokenizer (null/empty counts as "default").</summary>
    public static bool IsKnown(string? name) => string.IsNullOrEmpty(name) || KnownNames.Contains(name);

    /// <summary>Splits code points into word lengths (in code points).</summary>
    public List<int> Split(int[] cps)
    {
        var lengths = new List<int> { cps.Length };
        if (cps.Length == 0)
            return [];
        foreach (var stage in _stages)
        {
            var next = new List<int>(lengths.Count * 2);
            int s = 0;
            foreach (int len in lengths)
            {
                stage.Split(cps, s, s + len, next);
                s += len;
            }
            lengths = next;
        }
        return lengths;
    }
}
