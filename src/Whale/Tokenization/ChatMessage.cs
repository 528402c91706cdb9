namespace Whale.Tokenization;

/// <summary>One message of a conversation, as passed to <see cref="ChatTemplate.Render"/>.</summary>
/// <param name="Role">Who speaks.</param>
/// <param name="Content">
/// The text. For an assistant message with <see cref="ToolCalls"/>, an empty string stands for a missing
/// (JSON <c>null</c>) content, which is what the chat templates test for.
/// </param>
public sealed record ChatMessage(ChatRole Role, string Content)
{
    /// <summary>Tool calls made by an assistant message; <c>null</c> when there are none.</summary>
    public IReadOnlyList<ChatToolCall>? ToolCalls { get; init; }

    /// <summary>For a <see cref="ChatRole.Tool"/> message: the id of the call this is the result of.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>A system message.</summary>
    public static ChatMessage System(string content) => new(ChatRole.System, content);

    /// <summary>A user message.</summary>
    public static ChatMessage User(string content) => new(ChatRole.User, content);

    /// <summary>An assistant message.</summary>
    public static ChatMessage Assistant(string content) => new(ChatRole.Assistant, content);

    /// <summary>A tool result message.</summary>
    public static ChatMessage Tool(string content, string? toolCallId = null) => new(ChatRole.Tool, content) { ToolCallId = toolCallId };

    /// <summary>True when the message carries at least one tool call.</summary>
    internal bool HasToolCalls => ToolCalls is { Count: > 0 };

    /// <summary>The Jinja view of <c>message['content'] is none</c>: an assistant tool-call message with empty text.</summary>
    internal bool ContentIsNone => ToolCalls is not null && Content.Length == 0;
}
