using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels;

/// <summary>
/// gate ← silu(gate) · up, as ggml_vec_swiglu_f32: 16 lanes at a time with ggml_v_silu (x / (1 + ggml_v_expf(0 − x)),
/// <see cref="Attention.Exp"/>), the tail with <see cref="GgmlMath.Silu"/> (the same value per element: the scalar
/// form mirrors the vector one), so results are the same with or without AVX-512 and however the range is split.
/// </summary>
public static unsafe class SwiGlu
{
    /// <summary>Elements below which the pooled form runs on the calling thread (a pool round trip costs more).</summary>
    private const int MinParallel = 1 << 15;

    /// <summary>gate[i] = silu(gate[i]) · up[i] for every i of gate (up at least as long).</summary>
    public static void Apply(Span<float> gate, ReadOnlySpan<float> up)
    {
        if (up.Length < gate.Length) throw new ArgumentException("up is shorter than gate", nameof(up));
        fixed (float* g = gate)
        fixed (float* u = up)
            Apply(g, u, gate.Length);
    }

    /// <summary>As <see cref="Apply(Span{float}, ReadOnlySpan{float})"/> with the elements split across the pool's workers.</summary>
    public static void Apply(WorkerPool pool, Span<float> gate, ReadOnlySpan<float> up)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (up.Length < gate.Length) throw new ArgumentException("up is shorter than gate", nameof(up));
        if (gate.Length < MinParallel || pool.WorkerCount == 1)
        {
            Apply(gate, up);
            return;
        }
        fixed (float* g = gate)
        fixed (float* u = up)
        {
            var job = new Job { Gate = g, Up = u, Count = gate.Length };
            pool.Run(&Worker, Unsafe.AsPointer(ref job));
        }
    }

    private struct Job
    {
        public float* Gate;
        public float* Up;
        public int Count;
    }

    private static void Worker(void* state, int index, int count)
    {
        ref var job = ref Unsafe.AsRef<Job>(state);
        // split on multiples of 16 so every worker's range is whole vectors except the last one's tail
        var (s, e) = WorkerPool.Split(job.Count, index, count, 16);
        if (s < e) Apply(job.Gate + s, job.Up + s, e - s);
    }

    private static void Apply(float* g, float* u, int n)
    {
        int i = 0;
        if (Avx512F.IsSupported)
        {
            for (; i + 16 <= n; i += 16)
            {
                var x = Vector512.Load(g + i);
                var silu = x / (Vector512<float>.One + Attention.Exp(Vector512<float>.Zero - x));
                (silu * Vector512.Load(u + i)).Store(g + i);
            }
        }
        for (; i < n; i++) g[i] = GgmlMath.Silu(g[i]) * u[i];
    }
}
