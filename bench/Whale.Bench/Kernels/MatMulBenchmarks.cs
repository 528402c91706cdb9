using BenchmarkDotNet.Attributes;
using Whale.Gguf;

namespace Whale.Bench.Kernels;

/// <summary>
/// One thread, y = W·x for a 1536-column weight: <c>Batch</c> 1 is the decode matrix-vector product (memory-bound
/// at Rows 65536, about 100 MB in Q8_0, past most of the L3; cache-resident at Rows 2048), larger batches are
/// prompt-processing tiles. GB/s = weight bytes / time, GMAC/s = Rows · Cols · Batch / time (activation conversion
/// included). Q8_0 kernels alone, old vs new and more batch sizes: <see cref="Q8_0TileBenchmarks"/>.
/// </summary>
public class MatMulBenchmarks : IDisposable
{
    private const int Cols = 1536;
    private TestMatrix? _w;
    private float[] _x = [], _y = [];
    private byte[] _qx = [];

    [Params(GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K)]
    public GgmlType Type { get; set; }

    [Params(2048, 65536)]
    public int Rows { get; set; }

    [Params(1, 16)]
    public int Batch { get; set; }

    public static long BytesPerOperation(string method, Func<string, object?> p)
        => GgmlTypeTraits.RowBytes((GgmlType)p("Type")!, Cols) * (int)p("Rows")!;

    public static double MacsPerOperation(string method, Func<string, object?> p)
        => (double)Cols * (int)p("Rows")! * (int)p("Batch")!;

    [GlobalSetup]
    public void Setup()
    {
        _w = new TestMatrix(Type, Cols, Rows);
        _x = TestMatrix.RandomActivations(Batch * Cols);
        _y = new float[Batch * Rows];
        _qx = new byte[Batch * _w.Matrix.ActivationRowBytes];
    }

    [Benchmark]
    public void MatMul()
    {
        var w = _w!.Matrix;
        w.ConvertActivations(_x, Batch, _qx);
        w.MatMul(_qx, Batch, _y, 0, Rows);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _w?.Dispose();
        _w = null;
        GC.SuppressFinalize(this);
    }
}
