using System.Text.Json;

namespace Whale.Server.Contracts;

/// <summary>A message of a chat request (OpenAI / DeepSeek shape).</summary>
internal sealed class ChatMessageDto
{
    public string? Role { get; set; }
    /// <summary>A string, null, or an array of content parts (<c>{"type":"text","text":…}</c>).</summary>
    public JsonElement Content { get; set; }
    public string? Name { get; set; }
    public List<ToolCallDto>? ToolCalls { get; set; }
    public string? ToolCallId { get; set; }
    /// <summary>DeepSeek chat prefix completion: continue this (last, assistant) message.</summary>
    public bool? Prefix { get; set; }
    public string? ReasoningContent { get; set; }
    /// <summary>vLLM / Ollama spelling of <see cref="ReasoningContent"/>.</summary>
    public string? Reasoning { get; set; }
}
