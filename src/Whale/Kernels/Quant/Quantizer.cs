using System.Runtime.InteropServices;
using Whale.Gguf;

namespace Whale.Kernels.Quant;

/// <summary>STUB until the kernels work lands: float types only.</summary>
public static class Quantizer
{
    public static void DequantizeRow(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (type)
        {
            case GgmlType.F32: MemoryMarshal.Cast<byte, float>(src)[..dst.Length].CopyTo(dst); break;
            case GgmlType.F16:
                var h = MemoryMarshal.Cast<byte, Half>(src);
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)h[i];
                break;
            default: throw new NotSupportedException(type.ToString());
        }
    }

    public static void QuantizeRow(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst) => throw new NotSupportedException(type.ToString());
}
