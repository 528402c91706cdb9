using BenchmarkDotNet.Attributes;
using Whale.Gguf;
using Whale.Kernels.Quant;

namespace Whale.Bench.Kernels;

/// <summary>
/// One thread, the Q8_0 × Q8_0 product kernels on prepared activations (conversion excluded): <c>Avx2Vnni</c> is
/// <see cref="TileQ8_0"/> (4x4 / 4x1 tiles, the fallback), <c>Avx512</c> is <see cref="TileQ8_0Avx512"/> (8x4
/// zmm tiles). Rows x 1536 weights (1536: the attention projections of R1-Distill-Qwen-1.5B, 2.5 MB; 8960: its FFN
/// up/gate, 14.6 MB); Batch 1 is decode, 512 a prompt. GMAC/s = Rows · 1536 · Batch / time; GB/s = weight bytes / time.
/// </summary>
public class Q8_0TileBenchmarks : IDisposable
{
    public enum KernelKind { Avx2Vnni, Avx512 }

    private const int Cols = 1536;
    private TestMatrix? _w;
    private float[] _y = [];
    private byte[] _qx = [];

    [Params(KernelKind.Avx2Vnni, KernelKind.Avx512)]
    public KernelKind Kernel { get; set; }

    [Params(1536, 8960)]
    public int Rows { get; set; }

    [Params(1, 4, 16, 64, 512)]
    public int Batch { get; set; }

    public static long BytesPerOperation(string method, Func<string, object?> p)
        => GgmlTypeTraits.RowBytes(GgmlType.Q8_0, Cols) * (int)p("Rows")!;

    public static double MacsPerOperation(string method, Func<string, object?> p)
        => (double)Cols * (int)p("Rows")! * (int)p("Batch")!;

    [GlobalSetup]
    public void Setup()
    {
        if (Kernel == KernelKind.Avx512 ? !TileQ8_0Avx512.IsSupported : !TileQ8_0.IsSupported)
            throw new NotSupportedException($"{Kernel} kernel not supported on this CPU");
        _w = new TestMatrix(GgmlType.Q8_0, Cols, Rows);
        var x = TestMatrix.RandomActivations(Batch * Cols);
        _y = new float[Batch * Rows];
        _qx = new byte[Batch * _w.Matrix.ActivationRowBytes];
        _w.Matrix.ConvertActivations(x, Batch, _qx);
    }

    [Benchmark]
    public unsafe void MatMul()
    {
        var m = _w!.Matrix;
        fixed (byte* a = _qx)
        fixed (float* y = _y)
        {
            if (Kernel == KernelKind.Avx512)
                TileQ8_0Avx512.MatMul(m.Data, m.RowBytes, 0, Rows, a, m.ActivationRowBytes, Batch, Cols, y, Rows);
            else
                TileQ8_0.MatMul(m.Data, m.RowBytes, 0, Rows, a, m.ActivationRowBytes, Batch, Cols, y, Rows);
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _w?.Dispose();
        _w = null;
        GC.SuppressFinalize(this);
    }
}
