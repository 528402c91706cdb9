namespace Whale.Engine;

/// <summary>
/// Token counts and timings of one choice. The prompt is billed once per request, so <see cref="PromptTokens"/>
/// and <see cref="CachedPromptTokens"/> are the same on every choice of a request (those of its first prefill);
/// the completion counts are per choice.
/// </summary>
/// <param name="PromptTokens">Tokens of the prompt.</param>
/// <param name="CachedPromptTokens">Prompt tokens taken from the prefix cache instead of being computed
/// (the API's <c>prompt_cache_hit_tokens</c>).</param>
/// <param name="CompletionTokens">Tokens generated, reasoning included.</param>
/// <param name="ReasoningTokens">Generated tokens inside the reasoning block.</param>
/// <param name="QueueTime">From submission until the engine started the request.</param>
public sealed record EngineUsage(int PromptTokens, int CachedPromptTokens, int CompletionTokens, int ReasoningTokens, TimeSpan QueueTime);
