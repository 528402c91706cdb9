using System.Runtime.Intrinsics.X86;
using Whale.Gguf;

namespace Whale.Kernels.Quant;

/// <summary>
/// Matrix products for several weight rows × several activation rows at once, for the weight types other than
/// Q8_0 (see <see cref="TileQ8_0"/>). A tile unpacks each weight block once for many activation rows and each
/// activation block once for several weight rows, but every output keeps the summation order of the one-row dot
/// Whale uses for its type (<see cref="VecDot"/>, and the tinyBLAS chain for float types in batch order), so
/// results are bit-identical to a row-by-row loop: a sequence gives the same tokens alone or in a batch.
/// </summary>
internal static unsafe class Tiles
{
    /// <summary>The widest instruction set the tiled kernels use on this machine.</summary>
    public static TileIsa BestIsa { get; } =
        !(Avx2.IsSupported && Fma.IsSupported) ? TileIsa.None
        : Avx512F.IsSupported && Avx512BW.IsSupported ? TileIsa.Avx512
        : TileIsa.Avx2;

    /// <summary>
    /// y[b * yStride + r] = dot(W[r], A[b]) for r in [r0, r1), b in [0, batch), bit-identical to the row dot of
    /// <paramref name="type"/> (the tinyBLAS chain for F32/F16/BF16 when <paramref name="batchOrder"/>). W rows of
    /// <paramref name="rowBytes"/> at <paramref name="w"/> (row 0), activation rows (already converted to the
    /// type's vec_dot type) of <paramref name="aRowBytes"/> at <paramref name="a"/>. Returns false, writing nothing,
    /// when there is no tiled kernel for this type, order or machine.
    /// </summary>
    public static bool TryMatMul(GgmlType type, byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes,
        int batch, int n, float* y, int yStride, bool batchOrder)
        => TryMatMul(type, w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride, batchOrder, BestIsa);

    /// <summary>As the overload above with a given instruction set (tests force each one); false when not available.</summary>
    public static bool TryMatMul(GgmlType type, byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes,
        int batch, int n, float* y, int yStride, bool batchOrder, TileIsa isa)
    {
        if (!IsAvailable(isa) || batch < 1 || r0 >= r1) return false;
        switch (type)
        {
            case GgmlType.Q4_K:
                TileKQuants.MatMulQ4_K(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride, isa);
                return true;
            case GgmlType.Q5_K:
                TileKQuants.MatMulQ5_K(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride, isa);
                return true;
            case GgmlType.Q6_K:
                TileKQuants.MatMulQ6_K(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride, isa);
                return true;
            // 256-bit kernels (without AVX512-VNNI in .NET a 512-bit u8·s8 dot is no faster), used for both sets
            case GgmlType.Q4_0:
                TileLegacy.MatMulQ4_0(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride);
                return true;
            case GgmlType.Q5_0:
                TileLegacy.MatMulQ5_0(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride);
                return true;
            case GgmlType.Q4_1:
                TileLegacy.MatMulQ4_1(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride);
                return true;
            case GgmlType.Q5_1:
                TileLegacy.MatMulQ5_1(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride);
                return true;
            case GgmlType.F32 or GgmlType.F16 or GgmlType.BF16:
                // only the tinyBLAS order is tiled; the other one (VecDot.F32/F16/BF16) is for single rows
                if (!batchOrder || n % 16 != 0) return false;
                TileFloat.MatMul(type, w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride, isa);
                return true;
            default:
                return false;
        }
    }

    /// <summary>True when this machine runs the kernels of <paramref name="isa"/>.</summary>
    public static bool IsAvailable(TileIsa isa) => isa switch
    {
        TileIsa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        TileIsa.Avx512 => Avx2.IsSupported && Fma.IsSupported && Avx512F.IsSupported && Avx512BW.IsSupported,
        _ => false,
    };
}
