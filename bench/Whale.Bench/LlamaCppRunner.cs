using System.Diagnostics;
using LLama.Native;
using Whale.Diagnostics;

namespace Whale.Bench;

/// <summary>
/// llama.cpp (LLamaSharp 0.30.0, CPU backend) timed the way llama-bench does: random tokens, a prompt as one batch
/// (logits of the last token), generation one token per llama_decode; the depth prefix is filled once.
/// </summary>
internal sealed class LlamaCppRunner : IDisposable
{
    private static bool _initialized;
    private readonly SafeLlamaModelHandle _model;
    private readonly SafeLLamaContextHandle _ctx;
    private readonly LLamaBatch _batch = new();
    private readonly Random _random = new(1234);
    private readonly int _vocab;
    private int _prefilledDepth;

    public LlamaCppRunner(string path, int threads, int contextSize, int batchSize, LLamaFlashAttentionType flashAttention)
    {
        Initialize();
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
        cp.llama_flash_attn_type = flashAttention;
        _ctx = SafeLLamaContextHandle.Create(_model, cp);
        _vocab = _model.Vocab.Count;
    }

    /// <summary>llama_print_system_info of the loaded native library.</summary>
    public static string SystemInfo()
    {
        Initialize();
        return SystemInfoText();
    }

    private static void Initialize()
    {
        if (_initialized) return;
        NativeLibraryConfig.All.WithLogCallback((level, message) => { });
        NativeApi.llama_empty_call();
        _initialized = true;
    }

    private static string SystemInfoText() => (System.Runtime.InteropServices.Marshal.PtrToStringUTF8(NativeApi.llama_print_system_info()) ?? "").Replace('\n', ' ');

    public void WarmUp()
    {
        _ctx.MemoryClear(true);
        _prefilledDepth = 0;
        Decode(RandomTokens(16), 0, lastLogits: true);
        _ctx.MemoryClear(true);
        Decode(RandomTokens(1), 0, lastLogits: true);
        _ctx.MemoryClear(true);
    }

    public double RunOnce(BenchmarkTest test)
    {
        Prefill(test.Depth);
        if (test.Prompt > 0)
        {
            var tokens = RandomTokens(test.Prompt);
            long t0 = Stopwatch.GetTimestamp();
            Decode(tokens, test.Depth, lastLogits: true);
            return test.Prompt / Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        var next = RandomTokens(test.Generate);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < test.Generate; i++)
            Decode(next.AsSpan(i, 1), test.Depth + i, lastLogits: true);
        return test.Generate / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private void Prefill(int depth)
    {
        if (depth == 0)
        {
            _ctx.MemoryClear(true);
            _prefilledDepth = 0;
            return;
        }
        if (_prefilledDepth != depth)
        {
            _ctx.MemoryClear(true);
            var tokens = RandomTokens(depth);
            for (int s = 0; s < depth; s += 512) Decode(tokens.AsSpan(s, Math.Min(512, depth - s)), s, lastLogits: false);
            _prefilledDepth = depth;
        }
        _ctx.MemorySequenceRemove((LLamaSeqId)0, depth, -1);
    }

    private void Decode(ReadOnlySpan<int> tokens, int pos0, bool lastLogits)
    {
        _batch.Clear();
        for (int i = 0; i < tokens.Length; i++)
            _batch.Add((LLamaToken)tokens[i], pos0 + i, (LLamaSeqId)0, lastLogits && i == tokens.Length - 1);
        var rc = _ctx.Decode(_batch);
        if (rc != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed: {rc}");
        _ctx.Synchronize();
    }

    private int[] RandomTokens(int n)
    {
        var t = new int[n];
        for (int i = 0; i < n; i++) t[i] = _random.Next(_vocab);
        return t;
    }

    public void Dispose()
    {
        _ctx.Dispose();
        _model.Dispose();
    }
}
