using System.Text.Json;

namespace Whale.Server.Contracts;

/// <summary>The body of <c>POST /completions</c> (and DeepSeek's FIM <c>/beta/completions</c>).</summary>
internal sealed class CompletionRequestDto : SamplingRequestDto
{
    /// <summary>A string, an array of one string, or an array of token ids.</summary>
    public JsonElement Prompt { get; set; }
    public string? Suffix { get; set; }
    public bool? Echo { get; set; }
    public int? Logprobs { get; set; }
}
