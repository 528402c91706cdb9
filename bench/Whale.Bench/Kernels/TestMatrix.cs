using System.Runtime.InteropServices;
using Whale.Gguf;
using Whale.Kernels;
using Whale.Kernels.Quant;

namespace Whale.Bench.Kernels;

/// <summary>A random weight matrix in native memory: 64 quantized random rows repeated to fill <c>rows</c>.</summary>
internal sealed unsafe class TestMatrix : IDisposable
{
    private readonly byte* _data;

    public TestMatrix(GgmlType type, int cols, int rows, int seed = 1)
    {
        long rowBytes = GgmlTypeTraits.RowBytes(type, cols);
        _data = (byte*)NativeMemory.AlignedAlloc((nuint)(rowBytes * rows), 64);
        var rng = new Random(seed);
        var src = new float[cols];
        var row = new byte[rowBytes];
        int distinct = Math.Min(64, rows);
        for (int r = 0; r < distinct; r++)
        {
            for (int i = 0; i < cols; i++) src[i] = (float)(rng.NextDouble() * 2 - 1);
            Quantizer.QuantizeRow(type, src, row);
            for (int k = r; k < rows; k += distinct) row.CopyTo(new Span<byte>(_data + k * rowBytes, (int)rowBytes));
        }
        Matrix = new WeightMatrix(type, _data, cols, rows);
    }

    public WeightMatrix Matrix { get; }

    public static float[] RandomActivations(int n, int seed = 2)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    public void Dispose() => NativeMemory.AlignedFree(_data);
}
