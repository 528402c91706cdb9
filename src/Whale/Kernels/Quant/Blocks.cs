using System.Runtime.InteropServices;

namespace Whale.Kernels.Quant;

// Block layouts of ggml-common.h (MODEL-SPEC §9). All fields little-endian; ushort fields hold IEEE fp16 bits.

/// <summary>Q4_0: 32 values, fp16 scale, 4-bit quants offset by 8 (18 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal unsafe struct BlockQ4_0
{
    public const int Elements = 32;
    public ushort D;
    public fixed byte Qs[16];
}

/// <summary>Q4_1: 32 values, fp16 scale and min, 4-bit quants (20 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal unsafe struct BlockQ4_1
{
    public const int Elements = 32;
    public ushort D;
    public ushort M;
    public fixed byte Qs[16];
}

/// <summary>Q5_0: 32 values, fp16 scale, 5-bit quants offset by 16 (22 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal unsafe struct BlockQ5_0
{
    public const int Elements = 32;
    public ushort D;
    public fixed byte Qh[4];
    public fixed byte Qs[16];
}

/// <summary>Q5_1: 32 values, fp16 scale and min, 5-bit quants (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal unsafe struct BlockQ5_1
{
    public const int Elements = 32;
    public ushort D;
    public ushort M;
    public fixed byte Qh[4];
    public fixed byte Qs[16];
}

/// <summary>Q8_0: 32 values, fp16 scale, int8 quants (34 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal unsafe struct BlockQ8_0
{
    public const int Elements = 32;
    public ushort D;
    public fixed sbyte Qs[32];
}

/// <summary>Q8_1: 32 values, fp16 scale, fp16 s = d·Σq, int8 quants (36 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal unsafe struct BlockQ8_1
{
    public const int Elements = 32;
    public ushort D;
    public ushort S;
    public fixed sbyte Qs[32];
}

/// <summary>Q4_K: 256 values in 8 sub-blocks of 32 with 6-bit scales/mins (144 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal unsafe struct BlockQ4_K
{
    public const int Elements = 256;
    public ushort D;
    public ushort DMin;
    public fixed byte Scales[12];
    public fixed byte Qs[128];
}

/// <summary>Q5_K: 256 values in 8 sub-blocks of 32 with 6-bit scales/mins, fifth bit in qh (176 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal unsafe struct BlockQ5_K
{
    public const int Elements = 256;
    public ushort D;
    public ushort DMin;
    public fixed byte Scales[12];
    public fixed byte Qh[32];
    public fixed byte Qs[128];
}

/// <summary>Q6_K: 256 values in 16 sub-blocks of 16 with int8 scales (210 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal unsafe struct BlockQ6_K
{
    public const int Elements = 256;
    public fixed byte Ql[128];
    public fixed byte Qh[64];
    public fixed sbyte Scales[16];
    public ushort D;
}

/// <summary>Q8_K (activations only): f32 scale, 256 int8 quants, sums of 16-value groups (292 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal unsafe struct BlockQ8_K
{
    public const int Elements = 256;
    public float D;
    public fixed sbyte Qs[256];
    public fixed short BSums[16];
}
