namespace Whale.Engine;

/// <summary>How a model is loaded and run.</summary>
public sealed record ModelOptions
{
    /// <summary>Worker threads for the matrix products (default: all cores).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Context size of a generator's cache in tokens (default: min(model context, 4096)).</summary>
    public int? ContextSize { get; init; }

    /// <summary>Tokens per forward micro-batch during prompt processing.</summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>Chat template name that replaces the file's template (see <see cref="Tokenization.ChatTemplate.FromName"/>).</summary>
    public string? ChatTemplate { get; init; }
}
