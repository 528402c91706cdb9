using System.Text;
using Whale.Engine;

namespace Whale.Server.Generation;

/// <summary>What one choice has produced so far.</summary>
internal sealed class ChoiceState
{
    public StringBuilder Reasoning { get; } = new();
    public StringBuilder Content { get; } = new();
    public List<(TokenLogprob Logprob, bool InReasoning)> Logprobs { get; } = [];
    public string? FinishReason { get; set; }
    public EngineUsage? Usage { get; set; }
    /// <summary>Streaming: the role delta (chat) or echo (text) was sent.</summary>
    public bool Started { get; set; }
    /// <summary>Streaming: logprobs not yet sent.</summary>
    public int LogprobsSent { get; set; }
    /// <summary>Chat with tools: splits the answer into content and tool calls.</summary>
    public Whale.Tools.ToolCallParser? ToolParser { get; init; }
    public List<Whale.Tokenization.ChatToolCall> ToolCalls { get; } = [];
}
