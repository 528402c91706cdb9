using System.Text.Json;

namespace Whale.Server.Contracts;

/// <summary>The body of <c>POST /chat/completions</c>.</summary>
internal sealed class ChatCompletionRequestDto : SamplingRequestDto
{
    public List<ChatMessageDto>? Messages { get; set; }
    public int? MaxCompletionTokens { get; set; }
    public bool? Logprobs { get; set; }
    public int? TopLogprobs { get; set; }
    public JsonElement Tools { get; set; }
    public JsonElement ToolChoice { get; set; }
    public bool? ParallelToolCalls { get; set; }
    public JsonElement ResponseFormat { get; set; }
    public string? ReasoningEffort { get; set; }
}
