using System.Globalization;
using System.Text.Json;
using Whale.Engine;
using Whale.Sampling;
using Whale.Server.Contracts;
using Whale.Server.Errors;
using Whale.Server.Hosting;

namespace Whale.Server.Generation;

/// <summary>Validates the sampling fields shared by chat and text completions and maps them to engine options.</summary>
internal static class SamplingMapper
{
    public const int MaxStops = 16;

    public static GenerationOptions Options(SamplingRequestDto r, ServedModel model, WhaleServerOptions server, int? maxTokens, int defaultMaxTokens)
    {
        Range("temperature", r.Temperature, 0, 2);
        Range("top_p", r.TopP, 0, 1);
        Range("min_p", r.MinP, 0, 1);
        Range("presence_penalty", r.PresencePenalty, -2, 2);
        Range("frequency_penalty", r.FrequencyPenalty, -2, 2);
        if (r.RepetitionPenalty is { } rp && !(rp > 0 && rp <= 10)) throw ApiException.Invalid("repetition_penalty", "repetition_penalty must be in (0, 10]");
        if (r.TopK is < -1) throw ApiException.Invalid("top_k", "top_k must be -1 or 0 (off) or a positive number");
        int limit = server.MaxTokensLimit ?? model.Engine.ContextSize;
        if (maxTokens is { } mt && (mt < 1 || mt > limit))
            throw ApiException.Invalid("max_tokens", $"max_tokens must be between 1 and {limit}, got {mt}");
        if (r.ThinkingBudget is < 0) throw ApiException.Invalid("thinking_budget", "thinking_budget must be >= 0");
        int? budget = r.ThinkingBudget;
        if (r.Thinking is { } thinking)
        {
            switch (thinking.Type)
            {
                case null or "enabled": break;
                case "disabled": budget = 0; break;
                default: throw ApiException.Invalid("thinking.type", "thinking.type must be \"enabled\" or \"disabled\"");
            }
            if (thinking.BudgetTokens is < 0) throw ApiException.Invalid("thinking.budget_tokens", "thinking.budget_tokens must be >= 0");
            budget ??= thinking.BudgetTokens;
        }
        return new GenerationOptions
        {
            Sampling = new SamplingParams
            {
                Temperature = r.Temperature ?? 1f,
                TopP = r.TopP ?? 1f,
                TopK = Math.Max(0, r.TopK ?? 0),
                MinP = r.MinP ?? 0f,
                PresencePenalty = r.PresencePenalty ?? 0f,
                FrequencyPenalty = r.FrequencyPenalty ?? 0f,
                RepeatPenalty = r.RepetitionPenalty ?? 1f,
                Seed = r.Seed is { } s ? unchecked((ulong)s) : null,
                LogitBias = LogitBias(r.LogitBias, model.Model.Config.VocabSize),
            },
            MaxTokens = maxTokens ?? Math.Min(defaultMaxTokens, limit),
            Stop = Stops(r.Stop),
            ThinkingBudget = budget,
        };
    }

    public static int Choices(SamplingRequestDto r, WhaleServerOptions server)
    {
        int n = r.N ?? 1;
        if (n < 1 || n > server.MaxChoices) throw ApiException.Invalid("n", $"n must be between 1 and {server.MaxChoices}, got {n}");
        return n;
    }

    public static string? CacheKey(SamplingRequestDto r)
    {
        string? key = r.UserId ?? r.User;
        if (key is { Length: > 512 }) throw ApiException.Invalid(r.UserId is null ? "user" : "user_id", "user_id must be at most 512 characters");
        return key;
    }

    private static void Range(string name, float? value, float min, float max)
    {
        if (value is { } v && !(v >= min && v <= max))
            throw ApiException.Invalid(name, $"{name} must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}, got {v.ToString(CultureInfo.InvariantCulture)}");
    }

    private static List<string> Stops(JsonElement stop)
    {
        switch (stop.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return [];
            case JsonValueKind.String:
                return [stop.GetString()!];
            case JsonValueKind.Array:
                var list = new List<string>();
                foreach (var e in stop.EnumerateArray())
                {
                    if (e.ValueKind != JsonValueKind.String) throw ApiException.BadRequest("stop must be a string or an array of strings", "stop");
                    list.Add(e.GetString()!);
                }
                if (list.Count > MaxStops) throw ApiException.Invalid("stop", $"stop may hold at most {MaxStops} sequences, got {list.Count}");
                return list;
            default:
                throw ApiException.BadRequest("stop must be a string or an array of strings", "stop");
        }
    }

    private static Dictionary<int, float>? LogitBias(Dictionary<string, float>? bias, int vocabSize)
    {
        if (bias is null || bias.Count == 0) return null;
        var result = new Dictionary<int, float>();
        foreach (var (key, value) in bias)
        {
            if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out int id) || id >= vocabSize)
                throw ApiException.Invalid("logit_bias", $"logit_bias key '{key}' is not a token id of this model (0..{vocabSize - 1})");
            if (!(value >= -100 && value <= 100)) throw ApiException.Invalid("logit_bias", $"logit_bias values must be between -100 and 100, got {value} for {key}");
            result[id] = value <= -100 ? float.NegativeInfinity : value;
        }
        return result;
    }
}
