namespace Whale.Server.Conversations;

/// <summary>A conversation with its settings (a JSON object kept as text) and messages in order.</summary>
internal sealed record StoredConversation(string Id, string Title, string? Model, string Settings, long CreatedAt, long UpdatedAt,
    IReadOnlyList<StoredMessage> Messages);
