using System.Text.Json;

namespace Whale.Server.Contracts;

/// <summary>The fields chat and text completions share.</summary>
internal abstract class SamplingRequestDto
{
    public string? Model { get; set; }
    public float? Temperature { get; set; }
    public float? TopP { get; set; }
    public int? TopK { get; set; }
    public float? MinP { get; set; }
    public float? PresencePenalty { get; set; }
    public float? FrequencyPenalty { get; set; }
    /// <summary>vLLM / llama.cpp extension.</summary>
    public float? RepetitionPenalty { get; set; }
    public int? MaxTokens { get; set; }
    /// <summary>A string or an array of strings.</summary>
    public JsonElement Stop { get; set; }
    public long? Seed { get; set; }
    public int? N { get; set; }
    public Dictionary<string, float>? LogitBias { get; set; }
    public bool? Stream { get; set; }
    public StreamOptionsDto? StreamOptions { get; set; }
    public string? User { get; set; }
    public string? UserId { get; set; }
    public int? ThinkingBudget { get; set; }
    public ThinkingDto? Thinking { get; set; }
}
