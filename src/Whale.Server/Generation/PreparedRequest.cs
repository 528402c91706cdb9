using Whale.Engine;
using Whale.Server.Hosting;

namespace Whale.Server.Generation;

/// <summary>A validated request ready for the engine, with how to answer it.</summary>
internal sealed record PreparedRequest(ServedModel Model, EngineRequest Engine, bool Chat, bool Stream)
{
    public bool IncludeUsage { get; init; }
    /// <summary>Chat: show <c>reasoning_content</c> even when empty (the prompt opened a reasoning block).</summary>
    public bool ReasoningExpected { get; init; }
    public bool Logprobs { get; init; }
    /// <summary>Completions with <c>echo</c>: the prompt text, returned before the continuation.</summary>
    public string? Echo { get; init; }
    /// <summary>Chat with tools: parse the answer for tool calls in this syntax.</summary>
    public Whale.Constraints.ToolCallSyntax? ToolSyntax { get; init; }
}
