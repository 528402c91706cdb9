namespace Whale.Server.Contracts;

/// <summary><c>thinking: {"type": "enabled" | "disabled", "budget_tokens": N}</c> (DeepSeek V3.1+ / Anthropic style).</summary>
internal sealed class ThinkingDto
{
    public string? Type { get; set; }
    public int? BudgetTokens { get; set; }
}
