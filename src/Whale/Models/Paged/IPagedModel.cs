namespace Whale.Models.Paged;

/// <summary>
/// A model that can run one forward over the tokens of several sequences at once against a shared
/// <see cref="PagedKvCache"/> (continuous batching). Every row is computed in one fixed summation order (the
/// batched one: tinyBLAS order for float weights, the chained attention order for every query), whatever the batch
/// holds, so a sequence's results do not depend on what it is batched with or how its prompt was chunked.
/// </summary>
internal interface IPagedModel
{
    ModelConfig Config { get; }

    /// <summary>Most tokens one <see cref="ForwardPaged"/> takes.</summary>
    int MaxBatchTokens { get; }

    /// <summary>The shared KV storage: <paramref name="numBlocks"/> blocks of <paramref name="blockSize"/> slots.</summary>
    PagedKvCache CreatePagedCache(int numBlocks, int blockSize);

    /// <summary>
    /// Runs the batch: writes every token's keys/values into its slot, attends each token over positions
    /// [0, its position] of its own sequence, and writes the last token's logits of each sequence that wants them
    /// (row <see cref="PagedBatch.SeqLogitRow"/> of <paramref name="logits"/>, vocab values each).
    /// </summary>
    void ForwardPaged(PagedBatch batch, PagedKvCache cache, Span<float> logits);
}
