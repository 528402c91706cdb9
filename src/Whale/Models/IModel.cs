namespace Whale.Models;

/// <summary>A loaded decoder-only model: tokens in, logits out, keys and values kept in a <see cref="KvCache"/>.</summary>
public interface IModel : IDisposable
{
    ModelConfig Config { get; }

    /// <summary>A cache for one sequence of up to <paramref name="contextSize"/> tokens.</summary>
    KvCache CreateCache(int contextSize);

    /// <summary>
    /// Runs <paramref name="tokens"/> at positions [cache.Length, cache.Length + n), appends their keys/values to
    /// the cache, and writes logits: of the last token only (<paramref name="logits"/> = vocab values) or, with
    /// <paramref name="allLogits"/>, of every token (n x vocab).
    /// </summary>
    void Forward(ReadOnlySpan<int> tokens, KvCache cache, Span<float> logits, bool allLogits = false);
}
