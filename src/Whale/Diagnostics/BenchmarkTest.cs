namespace Whale.Diagnostics;

/// <summary>
/// One llama-bench-style test: process <see cref="Prompt"/> tokens in one batch (ppN) or generate
/// <see cref="Generate"/> tokens one at a time (tgN), after <see cref="Depth"/> tokens already in the cache.
/// </summary>
public sealed record BenchmarkTest(int Prompt, int Generate, int Depth = 0)
{
    /// <summary>llama-bench's name: <c>pp512</c>, <c>tg128</c>, <c>pp512 @ d4096</c>.</summary>
    public string Name => (Prompt > 0 ? $"pp{Prompt}" : $"tg{Generate}") + (Depth > 0 ? $" @ d{Depth}" : "");

    /// <summary>Tokens timed per repetition.</summary>
    public int Tokens => Prompt > 0 ? Prompt : Generate;

    /// <summary>Cache positions the test needs.</summary>
    public int ContextNeeded => Depth + Math.Max(Prompt, Generate) + 1;
}
