using BenchmarkDotNet.Attributes;
using Whale.Gguf;
using Whale.Kernels;

namespace Whale.Bench.Kernels;

/// <summary>Activation conversion (Q8_0 / Q8_1 / Q8_K / F16) and the small per-token ops, one thread; GB/s of F32 input.</summary>
public class ActivationBenchmarks
{
    private const int N = 1536 * 64;
    private float[] _x = [], _y = [], _w = [];
    private byte[] _q = [];

    [Params(GgmlType.Q8_0, GgmlType.Q4_1, GgmlType.Q4_K, GgmlType.F16)]
    public GgmlType WeightType { get; set; }

    public static long BytesPerOperation(string method, Func<string, object?> p) => N * 4L;

    [GlobalSetup]
    public void Setup()
    {
        _x = TestMatrix.RandomActivations(N);
        _y = new float[N];
        _w = TestMatrix.RandomActivations(1536, 3);
        _q = new byte[N * 4];
    }

    [Benchmark]
    public unsafe void Convert()
    {
        var m = new WeightMatrix(WeightType, null, 1536, 0);
        m.ConvertActivations(_x, 64, _q);
    }

    [Benchmark]
    public void RmsNormRows() => RmsNorm.ApplyRows(_x, _w, 1e-6f, _y, 64, 1536);
}
