using LLama.Native;

namespace Whale.Tests.LlamaCpp;

/// <summary>
/// llama.cpp (LLamaSharp 0.30.0, CPU backend) as the numerical reference: loads the same GGUF file and returns
/// logits and greedy continuations. F16 KV cache (llama.cpp's default) with flash attention off, so both engines
/// round the same things to F16 (q for K·q, softmax weights for V·p).
/// </summary>
internal sealed class LlamaCppReference : IDisposable
{
    private static readonly object InitLock = new();
    private static bool _initialized;
    private readonly SafeLlamaModelHandle _model;
    private readonly SafeLLamaContextHandle _ctx;

    public LlamaCppReference(string path, int contextSize = 1024, int batchSize = 512, int threads = 2)
    {
        lock (InitLock)
        {
            if (!_initialized)
            {
                try
                {
                    NativeLibraryConfig.All.WithLogCallback((level, message) => { });
                }
                catch (InvalidOperationException)
                {
                    // another test loaded the native library first; logs then go to its callback
                }
                NativeApi.llama_empty_call();
                _initialized = true;
            }
        }
        var mp = LLamaModelParams.Default();
        _model = SafeLlamaModelHandle.LoadFromFile(path, mp);
        var cp = LLamaContextParams.Default();
        cp.n_ctx = (uint)contextSize;
        cp.n_batch = (uint)batchSize;
        cp.n_ubatch = (uint)batchSize;
        cp.n_threads = threads;
        cp.n_threads_batch = threads;
        cp.type_k = GGMLType.GGML_TYPE_F16;
        cp.type_v = GGMLType.GGML_TYPE_F16;
        cp.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        _ctx = SafeLLamaContextHandle.Create(_model, cp);
        BatchSize = batchSize;
    }

    public int BatchSize { get; }
    public int VocabSize => _model.Vocab.Count;

    /// <summary>Clears the cache, evaluates the prompt in batches and returns the last position's logits.</summary>
    public float[] Evaluate(IReadOnlyList<int> tokens)
    {
        _ctx.MemoryClear(true);
        return Feed(tokens, 0);
    }

    /// <summary>Greedy continuation of <paramref name="prompt"/> (argmax, lowest id on ties), stopping at EOG tokens.</summary>
    public List<int> Greedy(IReadOnlyList<int> prompt, int count, Func<int, bool>? isEog = null)
    {
        var logits = Evaluate(prompt);
        var result = new List<int>();
        int pos = prompt.Count;
        for (int i = 0; i < count; i++)
        {
            int best = ArgMax(logits);
            if (isEog?.Invoke(best) == true) break;
            result.Add(best);
            logits = Feed([best], pos++);
        }
        return result;
    }

    private float[] Feed(IReadOnlyList<int> tokens, int pos0)
    {
        var batch = new LLamaBatch();
        float[]? last = null;
        for (int start = 0; start < tokens.Count; start += BatchSize)
        {
            batch.Clear();
            int n = Math.Min(BatchSize, tokens.Count - start);
            for (int i = 0; i < n; i++)
                batch.Add((LLamaToken)tokens[start + i], pos0 + start + i, (LLamaSeqId)0, start + i == tokens.Count - 1);
            var rc = _ctx.Decode(batch);
            if (rc != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed: {rc}");
            if (start + n == tokens.Count) last = _ctx.GetLogitsIth(n - 1).ToArray();
        }
        return last!;
    }

    /// <summary>llama.cpp's tokenization (add_special, parse_special).</summary>
    public int[] Tokenize(string text) => _ctx.Tokenize(text, true, true, System.Text.Encoding.UTF8).Select(t => (int)t).ToArray();

    public static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    public void Dispose()
    {
        _ctx.Dispose();
        _model.Dispose();
    }
}
