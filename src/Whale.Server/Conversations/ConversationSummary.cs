namespace Whale.Server.Conversations;

/// <summary>A conversation as the sidebar lists it.</summary>
internal sealed record ConversationSummary(string Id, string Title, string? Model, long CreatedAt, long UpdatedAt, int MessageCount);
