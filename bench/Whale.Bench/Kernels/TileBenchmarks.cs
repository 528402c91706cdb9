using BenchmarkDotNet.Attributes;
using Whale.Gguf;

namespace Whale.Bench.Kernels;

/// <summary>
/// One thread, prompt processing: <c>Batch</c> converted activation rows times a <c>Rows</c> x 1536 weight (1536 =
/// attention projections, 8960 = FFN gate/up of the 1.5B shape). <c>RowDots</c> is the loop WeightMatrix ran before
/// the tiles (one row dot per output, each activation row on its own); <c>Tiles</c> is WeightMatrix.MatMul with the
/// whole batch (Kernels/Quant/Tiles). Both give bit-identical results. Activation conversion is not timed.
/// </summary>
[Config(typeof(TileConfig))]
public class TileBenchmarks : IDisposable
{
    private const int Cols = 1536;
    private TestMatrix? _w;
    private float[] _y = [];
    private byte[] _qx = [];

    [Params(GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q5_0, GgmlType.Q4_0)]
    public GgmlType Type { get; set; }

    [Params(1536, 8960)]
    public int Rows { get; set; }

    [Params(16, 512)]
    public int Batch { get; set; }

    public static double MacsPerOperation(string method, Func<string, object?> p) => (double)Cols * (int)p("Rows")! * (int)p("Batch")!;

    [GlobalSetup]
    public void Setup()
    {
        _w = new TestMatrix(Type, Cols, Rows);
        var x = TestMatrix.RandomActivations(Batch * Cols);
        _y = new float[Batch * Rows];
        _qx = new byte[Batch * _w.Matrix.ActivationRowBytes];
        _w.Matrix.ConvertActivations(x, Batch, _qx);
    }

    [Benchmark(Baseline = true)]
    public void RowDots()
    {
        var w = _w!.Matrix;
        int arb = (int)w.ActivationRowBytes;
        for (int b = 0; b < Batch; b++)
            w.MatMul(_qx.AsSpan(b * arb, arb), 1, _y.AsSpan(b * Rows, Rows), 0, Rows, batchOrder: true);
    }

    [Benchmark]
    public void Tiles() => _w!.Matrix.MatMul(_qx, Batch, _y, 0, Rows, batchOrder: true);

    [GlobalCleanup]
    public void Dispose()
    {
        _w?.Dispose();
        _w = null;
        GC.SuppressFinalize(this);
    }

    private sealed class TileConfig : BenchmarkDotNet.Configs.ManualConfig
    {
        public TileConfig() => AddColumn(new MacColumn());
    }
}
