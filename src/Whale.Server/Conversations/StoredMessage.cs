namespace Whale.Server.Conversations;

/// <summary>One stored message. <paramref name="Meta"/> is the client's JSON object (token counts, speed, timing)
/// kept as text; <paramref name="Reasoning"/> is the assistant's thinking, if any.</summary>
internal sealed record StoredMessage(long Id, string Role, string Content, string? Reasoning, string? Meta, long CreatedAt);
