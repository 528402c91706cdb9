using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

/// <summary>
/// Q5_K weights repacked at load (<see cref="Q5_KRepacked"/>) × Q8_K activations, for every batch size, in the
/// row-lane order of <see cref="ReferenceDot.Q5_KQ8_KRowLane"/> (that of <see cref="TileQ4_KRepacked"/> with 5-bit
/// quants): the kernels of <see cref="TileQ4_KRepacked"/>, each slice's fifth bits moved from their plane to bit 4 by
/// a GFNI affine transform and merged with the nibbles (sums of 32 products up to 31 · 128 stay below 2^23, so the
/// integer scaling stays exact). Results differ from llama.cpp's AVX2 <c>vec_dot_q5_K_q8_K</c> by float rounding only.
/// </summary>
internal static unsafe class TileQ5_KRepacked
{
    /// <summary>True when this kernel can run (those of <see cref="TileQ4_KRepacked"/> and GFNI).</summary>
    public static bool IsSupported => TileQ4_KRepacked.IsSupported && Gfni.V256.IsSupported;

    /// <summary>
    /// y[b * yStride + r] = dot(W[r], A[b]) for r in [r0, r1), b in [0, batch): A rows of <paramref name="aRowBytes"/>
    /// bytes of Q8_K blocks at <paramref name="a"/>; any row range (see <see cref="TileQ4_KRepacked.MatMul"/>).
    /// </summary>
    public static void MatMul(Q5_KRepacked w, int r0, int r1, byte* a, long aRowBytes, int batch, float* y, int yStride)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (r0 >= r1 || batch <= 0) return;
        long quants = (long)w.Blocks * Q5_KRepacked.QuantBytes;
        TileQ4_KRepacked.Run<TileQ4_KRepacked.Q5Bits>(w.Base, w.GroupBytes, quants, quants + (long)w.Blocks * Q5_KRepacked.FifthBitBytes,
            w.Blocks, r0, r1, a, aRowBytes, batch, y, yStride);
    }
}
