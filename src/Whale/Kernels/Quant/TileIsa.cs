namespace Whale.Kernels.Quant;

/// <summary>Instruction-set level of a tiled matrix kernel (<see cref="Tiles"/>); tests force each one.</summary>
internal enum TileIsa
{
    /// <summary>No tiled kernel: the caller runs one row dot per output.</summary>
    None,
    /// <summary>256-bit vectors: AVX2 + FMA (AVX-VNNI fused multiply-adds where present).</summary>
    Avx2,
    /// <summary>512-bit vectors: AVX-512 F + BW.</summary>
    Avx512,
}
