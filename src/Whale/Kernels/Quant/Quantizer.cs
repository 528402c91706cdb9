using System.Runtime.InteropServices;
using Whale.Gguf;

namespace Whale.Kernels.Quant;

/// <summary>
/// Row conversions between F32 and the ggml storage types: <see cref="DequantizeRow(GgmlType, ReadOnlySpan{byte}, Span{float})"/> with exact ggml semantics
/// (dequantize_row_* in ggml-quants.c) and <see cref="QuantizeRow"/>, a simple valid encoder used to write GGUF files.
/// </summary>
public static unsafe partial class Quantizer
{
    /// <summary>True when <see cref="DequantizeRow(GgmlType, ReadOnlySpan{byte}, Span{float})"/> and <see cref="QuantizeRow"/> handle <paramref name="type"/>.</summary>
    public static bool Supports(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16
        or GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0
        or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>
    /// Decodes <paramref name="dst"/>.Length values of <paramref name="type"/> from <paramref name="src"/>
    /// (at least RowBytes(type, dst.Length) bytes; dst.Length a multiple of the block size).
    /// </summary>
    public static void DequantizeRow(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        int n = dst.Length;
        long need = GgmlTypeTraits.RowBytes(type, n);
        if (src.Length < need)
            throw new ArgumentException($"{type} row of {n} values needs {need} bytes, got {src.Length}", nameof(src));
        fixed (byte* s = src)
        fixed (float* d = dst)
            DequantizeRow(type, s, d, n);
    }

    /// <summary>Pointer form of <see cref="DequantizeRow(GgmlType, ReadOnlySpan{byte}, Span{float})"/>; no checks.</summary>
    internal static void DequantizeRow(GgmlType type, byte* src, float* dst, int n)
    {
        switch (type)
        {
            case GgmlType.F32:
                new ReadOnlySpan<float>(src, n).CopyTo(new Span<float>(dst, n));
                break;
            case GgmlType.F16:
                System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(
                    new ReadOnlySpan<Half>(src, n), new Span<float>(dst, n));
                break;
            case GgmlType.BF16:
                {
                    var b = (ushort*)src;
                    for (int i = 0; i < n; i++) dst[i] = Fp16.BF16ToFloat(b[i]);
                    break;
                }
            case GgmlType.Q4_0: DequantizeQ4_0((BlockQ4_0*)src, dst, n); break;
            case GgmlType.Q4_1: DequantizeQ4_1((BlockQ4_1*)src, dst, n); break;
            case GgmlType.Q5_0: DequantizeQ5_0((BlockQ5_0*)src, dst, n); break;
            case GgmlType.Q5_1: DequantizeQ5_1((BlockQ5_1*)src, dst, n); break;
            case GgmlType.Q8_0: DequantizeQ8_0((BlockQ8_0*)src, dst, n); break;
            case GgmlType.Q4_K: DequantizeQ4_K((BlockQ4_K*)src, dst, n); break;
            case GgmlType.Q5_K: DequantizeQ5_K((BlockQ5_K*)src, dst, n); break;
            case GgmlType.Q6_K: DequantizeQ6_K((BlockQ6_K*)src, dst, n); break;
            default: throw new NotSupportedException($"dequantizing {type} is not supported");
        }
    }

    /// <summary>
    /// Encodes <paramref name="src"/> (length a multiple of the block size) as <paramref name="type"/> into
    /// <paramref name="dst"/> (at least RowBytes(type, src.Length) bytes). F16 rounds to nearest even, BF16 with
    /// ggml's rounding; the block types use llama.cpp's simple reference quantizers (Q4_0..Q8_0) or a plain
    /// min/scale fit (K-quants): valid files, not llama.cpp's best-error encodings.
    /// </summary>
    public static void QuantizeRow(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        int n = src.Length;
        long need = GgmlTypeTraits.RowBytes(type, n);
        if (dst.Length < need)
            throw new ArgumentException($"{type} row of {n} values needs {need} bytes, got {dst.Length}", nameof(dst));
        fixed (float* s = src)
        fixed (byte* d = dst)
        {
            switch (type)
            {
                case GgmlType.F32:
                    src.CopyTo(MemoryMarshal.Cast<byte, float>(dst));
                    break;
                case GgmlType.F16:
                    {
                        var h = (ushort*)d;
                        for (int i = 0; i < n; i++) h[i] = Fp16.FromFloat(s[i]);
                        break;
                    }
                case GgmlType.BF16:
                    {
                        var b = (ushort*)d;
                        for (int i = 0; i < n; i++) b[i] = Fp16.FloatToBF16(s[i]);
                        break;
                    }
                case GgmlType.Q4_0: QuantizeQ4_0(s, (BlockQ4_0*)d, n); break;
                case GgmlType.Q4_1: QuantizeQ4_1(s, (BlockQ4_1*)d, n); break;
                case GgmlType.Q5_0: QuantizeQ5_0(s, (BlockQ5_0*)d, n); break;
                case GgmlType.Q5_1: QuantizeQ5_1(s, (BlockQ5_1*)d, n); break;
                case GgmlType.Q8_0: QuantizeQ8_0(s, (BlockQ8_0*)d, n); break;
                case GgmlType.Q4_K: QuantizeQ4_K(s, (BlockQ4_K*)d, n); break;
                case GgmlType.Q5_K: QuantizeQ5_K(s, (BlockQ5_K*)d, n); break;
                case GgmlType.Q6_K: QuantizeQ6_K(s, (BlockQ6_K*)d, n); break;
                default: throw new NotSupportedException($"quantizing to {type} is not supported");
            }
        }
    }
}
