namespace Whale.Models;

/// <summary>One micro-batch of a model's forward pass: tokens at the cache's next positions, logits if wanted.</summary>
internal delegate void MicroBatchForward(ReadOnlySpan<int> tokens, KvCache cache, Span<float> logits, bool allLogits, bool wantLogits);

/// <summary>
/// The part of <see cref="IModel.Forward"/> every architecture shares: argument checks (clear errors for an empty
/// prompt, a full context, a short logits buffer, ids outside the vocabulary) and the split into micro-batches of at
/// most <c>maxBatch</c> tokens, of which only the last (or every one, with all logits) produces logits.
/// </summary>
internal static class ForwardChunks
{
    public static void Run(ReadOnlySpan<int> tokens, KvCache cache, Span<float> logits, bool allLogits, int vocab, int maxBatch,
        object gate, MicroBatchForward forward)
    {
        ArgumentNullException.ThrowIfNull(cache);
        int n = tokens.Length;
        if (n == 0) throw new ArgumentException("no tokens to evaluate", nameof(tokens));
        if (cache.Length + n > cache.ContextSize)
            throw new InvalidOperationException($"context is full: {cache.Length} + {n} tokens exceed the context size {cache.ContextSize}");
        if (logits.Length < (allLogits ? n * vocab : vocab)) throw new ArgumentException("logits buffer too small", nameof(logits));
        foreach (var t in tokens)
            if ((uint)t >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {t} is outside the vocabulary (0..{vocab - 1})");
        lock (gate)
        {
            for (int start = 0; start < n; start += maxBatch)
            {
                int count = Math.Min(maxBatch, n - start);
                bool lastChunk = start + count == n;
                var outLogits = allLogits ? logits.Slice(start * vocab, count * vocab) : lastChunk ? logits[..vocab] : default;
                forward(tokens.Slice(start, count), cache, outLogits, allLogits, lastChunk || allLogits);
            }
        }
    }
}
