using Whale.Gguf;

namespace Whale.Kernels;

/// <summary>
/// A 2-D weight (rows x cols, row-major, in its GGUF type) used in place, with the matrix products of its type:
/// activations are converted the way llama.cpp does (F32 for F32, F16 for F16, BF16 for BF16, Q8_0 for
/// Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for K-quants) and multiplied with integer dot products.
/// </summary>
/// <remarks>STUB: signatures fixed, implementation owned by the kernels work.</remarks>
public sealed unsafe class WeightMatrix
{
    public WeightMatrix(GgmlType type, byte* data, int cols, int rows)
    {
        Type = type; Data = data; Cols = cols; Rows = rows; RowBytes = GgmlTypeTraits.RowBytes(type, cols);
    }

    public GgmlType Type { get; }
    public byte* Data { get; }
    public int Cols { get; }
    public int Rows { get; }
    public long RowBytes { get; }

    /// <summary>The type activations are converted to before the dot products.</summary>
    public GgmlType ActivationType => throw new NotImplementedException();
    /// <summary>Bytes of one converted activation row (Cols values).</summary>
    public long ActivationRowBytes => throw new NotImplementedException();

    /// <summary>Converts <paramref name="batch"/> rows of Cols floats into <paramref name="qx"/> (batch * ActivationRowBytes).</summary>
    public void ConvertActivations(ReadOnlySpan<float> x, int batch, Span<byte> qx) => throw new NotImplementedException();

    /// <summary>y[b * Rows + r] = dot(W[r], x[b]) for r in [rowStart, rowEnd), b in [0, batch); qx from ConvertActivations.</summary>
    public void MatMul(ReadOnlySpan<byte> qx, int batch, Span<float> y, int rowStart, int rowEnd) => throw new NotImplementedException();

    /// <summary>Dequantizes one row to F32 (embedding lookup).</summary>
    public void DequantizeRow(int row, Span<float> dst) => throw new NotImplementedException();
}
