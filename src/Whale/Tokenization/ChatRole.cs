namespace Whale.Tokenization;

/// <summary>The speaker of a <see cref="ChatMessage"/>.</summary>
public enum ChatRole
{
    /// <summary>System prompt (instructions for the model).</summary>
    System,

    /// <summary>A user turn.</summary>
    User,

    /// <summary>A model (assistant) turn, possibly with tool calls.</summary>
    Assistant,

    /// <summary>The result of a tool call, fed back to the model.</summary>
    Tool,
}
