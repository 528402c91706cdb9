namespace Whale.Sampling;

/// <summary>
/// Token sampling settings (llama.cpp semantics). The defaults switch every filter off and sample from the
/// plain softmax at temperature 1.
/// </summary>
public sealed record SamplingParams
{
    /// <summary>Softmax temperature; 0 or less selects greedy decoding (argmax, lowest id on ties). Default 1.</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Keep only the K most likely tokens; 0 (or less) = off.</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches P; 1 = off.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Drop tokens whose probability is below MinP times the most likely token's; 0 = off.</summary>
    public float MinP { get; init; }

    /// <summary>Repetition penalty for tokens in the recent history: positive logits are divided by it, negative
    /// ones multiplied; 1 = off.</summary>
    public float RepeatPenalty { get; init; } = 1f;

    /// <summary>Subtracted from a recent token's logit once per occurrence; 0 = off.</summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>Subtracted once from the logit of every token that occurs in the recent history; 0 = off.</summary>
    public float PresencePenalty { get; init; }

    /// <summary>How many of the last accepted tokens the penalties look at; 0 = no penalties, -1 = the whole
    /// history. Default 64.</summary>
    public int PenaltyLastN { get; init; } = 64;

    /// <summary>Random seed; null draws a random one (see <see cref="Sampler.Seed"/>).</summary>
    public ulong? Seed { get; init; }

    /// <summary>Added to the logits of the given token ids before anything else; <see cref="float.NegativeInfinity"/>
    /// bans a token.</summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }

    /// <summary>Greedy decoding (temperature 0).</summary>
    public static SamplingParams Greedy { get; } = new() { Temperature = 0f };
}
