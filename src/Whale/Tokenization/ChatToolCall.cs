namespace Whale.Tokenization;

/// <summary>One function call made by the assistant (OpenAI-style <c>tool_calls</c> entry, type "function").</summary>
/// <param name="Id">The call id (echoed by the tool result's <see cref="ChatMessage.ToolCallId"/>).</param>
/// <param name="Name">The function name.</param>
/// <param name="ArgumentsJson">The arguments as JSON text (normally an object), exactly as the model produced them.</param>
public sealed record ChatToolCall(string Id, string Name, string ArgumentsJson);
