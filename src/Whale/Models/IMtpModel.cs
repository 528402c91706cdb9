namespace Whale.Models;

/// <summary>
/// A model whose file carries a multi-token-prediction (MTP) block (DeepSeek-V3's depth-1 MTP, llama.cpp's nextn
/// layout): from the main model's final-normed hidden state at position i and token i+1 it predicts token i+2, a draft
/// the main model verifies in its next step (speculative decoding, see <c>Engine.Generator</c>).
/// </summary>
public interface IMtpModel : IModel
{
    /// <summary>True when the MTP block was loaded (the file has one).</summary>
    bool HasMtp { get; }

    /// <summary>The MTP block's own cache: one row per position i, written by <see cref="ForwardMtp"/>.</summary>
    KvCache CreateMtpCache(int contextSize);

    /// <summary>
    /// <see cref="IModel.Forward"/> that also writes the final-normed hidden state (after output_norm, E values) of
    /// every token to <paramref name="hidden"/> (n x E). Without <paramref name="rowOrder"/>: the cache and the last
    /// token's logits are exactly those of <see cref="IModel.Forward"/> (prompt processing). With it: logits of every
    /// token (n x vocab), each row computed in the order a one-token forward uses, so that n tokens verified in one
    /// call give bit for bit the logits and cache rows of n one-token calls.
    /// </summary>
    void ForwardHidden(ReadOnlySpan<int> tokens, KvCache cache, Span<float> logits, Span<float> hidden, bool rowOrder);

    /// <summary>
    /// Runs the MTP block for n rows at MTP-cache positions [mtpCache.Length, + n): row t combines the main hidden
    /// state <paramref name="hidden"/>[t] of position i = mtpCache.Length + t with <paramref name="nextTokens"/>[t] =
    /// token i+1 (at rope position i+1), appends the rows to <paramref name="mtpCache"/>, and writes the logits of the
    /// last row (a prediction of token i+2) to <paramref name="logits"/> (vocab values).
    /// </summary>
    void ForwardMtp(ReadOnlySpan<float> hidden, ReadOnlySpan<int> nextTokens, KvCache mtpCache, Span<float> logits);
}
