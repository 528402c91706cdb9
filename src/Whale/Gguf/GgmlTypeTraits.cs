namespace Whale.Gguf;

/// <summary>Block size and block byte size of each ggml type (ggml-common.h).</summary>
/// <remarks>
/// Every type of <see cref="GgmlType"/> has a known layout, so files with any of them can be opened and their
/// tensors addressed; which ones Whale can compute with is <see cref="IsComputeSupported"/>.
/// </remarks>
public static class GgmlTypeTraits
{
    /// <summary>Elements per block (1 for plain float types).</summary>
    /// <exception cref="NotSupportedException">Unknown type id.</exception>
    public static int BlockSize(GgmlType type) => type switch
    {
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.I8 or GgmlType.I16 or GgmlType.I32
            or GgmlType.I64 or GgmlType.F64 => 1,
        GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0 or GgmlType.Q8_1
            or GgmlType.IQ4_NL or GgmlType.MXFP4 => 32,
        GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K or GgmlType.Q8_K
            or GgmlType.IQ4_XS or GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ3_XXS or GgmlType.IQ1_S
            or GgmlType.IQ3_S or GgmlType.IQ2_S or GgmlType.IQ1_M or GgmlType.TQ1_0 or GgmlType.TQ2_0 => 256,
        _ => throw new NotSupportedException($"unknown tensor type {(uint)type}"),
    };

    /// <summary>Bytes per block.</summary>
    /// <exception cref="NotSupportedException">Unknown type id.</exception>
    public static int BlockBytes(GgmlType type) => type switch
    {
        GgmlType.F32 => 4, GgmlType.F16 => 2, GgmlType.BF16 => 2,
        GgmlType.I8 => 1, GgmlType.I16 => 2, GgmlType.I32 => 4, GgmlType.I64 => 8, GgmlType.F64 => 8,
        GgmlType.Q4_0 => 18, GgmlType.Q4_1 => 20, GgmlType.Q5_0 => 22, GgmlType.Q5_1 => 24,
        GgmlType.Q8_0 => 34, GgmlType.Q8_1 => 36, GgmlType.IQ4_NL => 18, GgmlType.MXFP4 => 17,
        GgmlType.Q2_K => 84, GgmlType.Q3_K => 110, GgmlType.Q4_K => 144, GgmlType.Q5_K => 176,
        GgmlType.Q6_K => 210, GgmlType.Q8_K => 292, GgmlType.IQ4_XS => 136,
        GgmlType.IQ2_XXS => 66, GgmlType.IQ2_XS => 74, GgmlType.IQ3_XXS => 98, GgmlType.IQ1_S => 50,
        GgmlType.IQ3_S => 110, GgmlType.IQ2_S => 82, GgmlType.IQ1_M => 56, GgmlType.TQ1_0 => 54, GgmlType.TQ2_0 => 66,
        _ => throw new NotSupportedException($"unknown tensor type {(uint)type}"),
    };

    /// <summary>True for the types whose layout this table knows (a file may hold them).</summary>
    public static bool IsKnown(GgmlType type) => Enum.IsDefined(type);

    /// <summary>True for the weight types Whale computes with.</summary>
    public static bool IsComputeSupported(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16
        or GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1
        or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>Bytes of one row of <paramref name="elements"/> values; elements must be a multiple of the block size.</summary>
    public static long RowBytes(GgmlType type, long elements)
    {
        int bs = BlockSize(type);
        if (elements % bs != 0)
            throw new ArgumentException($"{elements} elements is not a multiple of the {type} block size {bs}");
        return elements / bs * BlockBytes(type);
    }
}
