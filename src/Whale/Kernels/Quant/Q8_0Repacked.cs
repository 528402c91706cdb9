using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

/// <summary>
/// A Q8_0 matrix copied at load into row groups for <see cref="TileQ8_0Repacked"/>, in native 64-byte aligned memory
/// (freed by <see cref="RepackedMatrix.Dispose"/>), so that decode and prefill read one sequential stream per thread and nothing
/// is packed per call.
/// <para>
/// Layout: rows in groups of <see cref="RepackedMatrix.GroupRows"/> (8; the last group padded with zero rows), group g at
/// <c>Base + g · GroupBytes</c>: first the quants block-major, each block as 8 slices of 32 bytes,
/// <c>Quants(g)[i · 256 + k · 32 + r · 4 + j]</c> = quant 4k + j of block i of row 8g + r, offset to unsigned (⊕ 0x80),
/// so that one 256-bit load holds 4 quants of each of the 8 rows (one <c>vpdpbusd</c> with a broadcast activation
/// dword); then the scales, <c>Scales(g)[i · 8 + r]</c> = the block's F16 scale bits. 8 · 34 bytes per block of a
/// group, as in the file (decode reads no more bytes than before), all 256-bit loads aligned. Nothing else is kept:
/// the source rows are not read again (<see cref="RepackedMatrix.DequantizeRow"/> rebuilds ggml blocks from the copy).
/// </para>
/// </summary>
internal sealed unsafe class Q8_0Repacked : RepackedMatrix
{
    private Q8_0Repacked(int rows, int cols, long groupBytes) : base(rows, cols, cols / 32, groupBytes)
    {
    }

    /// <summary>The offset quants of group <paramref name="g"/> (64-byte aligned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Quants(int g) => Base + g * GroupBytes;

    /// <summary>The F16 scales of group <paramref name="g"/> (8 per block, after the quants).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort* Scales(int g) => (ushort*)(Base + g * GroupBytes + (long)Blocks * GroupRows * 32);

    /// <summary>
    /// Copies <paramref name="rows"/> Q8_0 rows of <paramref name="cols"/> values (rows <paramref name="rowBytes"/>
    /// apart from <paramref name="data"/>) into the group layout. The source is only read. Returns null (and copies
    /// nothing) when some block scale is an infinity or NaN: the kernels convert scales with
    /// <see cref="Fp16.FiniteToFloat8"/>, so such a (broken) matrix stays in place, where it computes what llama.cpp does.
    /// </summary>
    public static Q8_0Repacked? Create(byte* data, long rowBytes, int rows, int cols)
    {
        int nb = CheckSource(data, rowBytes, rows, cols, Gguf.GgmlType.Q8_0);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < nb; i++)
                if (!Fp16.IsFinite(*(ushort*)(data + r * rowBytes + i * 34L))) return null;
        long groupBytes = ((long)nb * GroupRows * (32 + 2) + 63) & ~63L;
        int groups = (rows + GroupRows - 1) / GroupRows;
        var m = new Q8_0Repacked(rows, cols, groupBytes);
        for (int g = 0; g < groups; g++)
        {
            var u = (uint*)m.Quants(g);
            ushort* dw = m.Scales(g);
            byte* row0 = data + (long)g * GroupRows * rowBytes;
            int valid = Math.Min(GroupRows, rows - g * GroupRows);
            for (int i = 0; i < nb; i++, u += GroupRows * 8)
            {
                byte* blk = row0 + i * 34L;
                if (valid == GroupRows && Avx2.IsSupported)
                {
                    Transpose8x8(blk + 2, rowBytes, u);
                    for (int r = 0; r < GroupRows; r++, blk += rowBytes) *dw++ = *(ushort*)blk;
                    continue;
                }
                for (int r = 0; r < GroupRows; r++, blk += rowBytes)
                {
                    // padding rows: quants 0 (0x80 offset), scale 0; their outputs are never stored
                    var src = (uint*)(blk + 2);
                    for (int k = 0; k < 8; k++) u[k * GroupRows + r] = r < valid ? src[k] ^ 0x80808080u : 0x80808080u;
                    *dw++ = r < valid ? *(ushort*)blk : (ushort)0;
                }
            }
            // the alignment gap after the scales (deterministic contents)
            byte* end = (byte*)dw, next = (byte*)m.Quants(g) + groupBytes;
            if (next > end) new Span<byte>(end, (int)(next - end)).Clear();
        }
        return m;
    }

    /// <summary>
    /// One block of 8 rows (quants at <paramref name="q"/>, rows <paramref name="rowBytes"/> apart) into its 8 slices:
    /// an 8 × 8 transpose of 4-byte words (the rows' dwords k become slice k), offset ⊕ 0x80.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(byte* q, long rowBytes, uint* dst)
    {
        var o = Vector256.Create(0x80808080u);
        var r0 = Vector256.Load((uint*)q) ^ o; var r1 = Vector256.Load((uint*)(q + rowBytes)) ^ o;
        var r2 = Vector256.Load((uint*)(q + 2 * rowBytes)) ^ o; var r3 = Vector256.Load((uint*)(q + 3 * rowBytes)) ^ o;
        var r4 = Vector256.Load((uint*)(q + 4 * rowBytes)) ^ o; var r5 = Vector256.Load((uint*)(q + 5 * rowBytes)) ^ o;
        var r6 = Vector256.Load((uint*)(q + 6 * rowBytes)) ^ o; var r7 = Vector256.Load((uint*)(q + 7 * rowBytes)) ^ o;
        // dwords of row pairs interleaved, then qwords of pair pairs: lane half h of u_k holds dword k (h = 0) or k + 4
        var t0 = Avx2.UnpackLow(r0, r1); var t1 = Avx2.UnpackHigh(r0, r1); var t2 = Avx2.UnpackLow(r2, r3); var t3 = Avx2.UnpackHigh(r2, r3);
        var t4 = Avx2.UnpackLow(r4, r5); var t5 = Avx2.UnpackHigh(r4, r5); var t6 = Avx2.UnpackLow(r6, r7); var t7 = Avx2.UnpackHigh(r6, r7);
        var u0 = Avx2.UnpackLow(t0.AsUInt64(), t2.AsUInt64()).AsUInt32(); var u1 = Avx2.UnpackHigh(t0.AsUInt64(), t2.AsUInt64()).AsUInt32();
        var u2 = Avx2.UnpackLow(t1.AsUInt64(), t3.AsUInt64()).AsUInt32(); var u3 = Avx2.UnpackHigh(t1.AsUInt64(), t3.AsUInt64()).AsUInt32();
        var u4 = Avx2.UnpackLow(t4.AsUInt64(), t6.AsUInt64()).AsUInt32(); var u5 = Avx2.UnpackHigh(t4.AsUInt64(), t6.AsUInt64()).AsUInt32();
        var u6 = Avx2.UnpackLow(t5.AsUInt64(), t7.AsUInt64()).AsUInt32(); var u7 = Avx2.UnpackHigh(t5.AsUInt64(), t7.AsUInt64()).AsUInt32();
        Avx2.Permute2x128(u0, u4, 0x20).Store(dst); Avx2.Permute2x128(u1, u5, 0x20).Store(dst + 8);
        Avx2.Permute2x128(u2, u6, 0x20).Store(dst + 16); Avx2.Permute2x128(u3, u7, 0x20).Store(dst + 24);
        Avx2.Permute2x128(u0, u4, 0x31).Store(dst + 32); Avx2.Permute2x128(u1, u5, 0x31).Store(dst + 40);
        Avx2.Permute2x128(u2, u6, 0x31).Store(dst + 48); Avx2.Permute2x128(u3, u7, 0x31).Store(dst + 56);
    }

    /// <summary>
    /// Writes row <paramref name="row"/> back as ggml Q8_0 blocks (Blocks × 34 bytes), exactly the source row.
    /// </summary>
    public void ToBlocks(int row, BlockQ8_0* dst)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row));
        int g = row / GroupRows, r = row % GroupRows;
        var u = (uint*)Quants(g) + r;
        ushort* dw = Scales(g) + r;
        for (int i = 0; i < Blocks; i++, u += GroupRows * 8, dw += GroupRows, dst++)
        {
            dst->D = *dw;
            var q = (uint*)dst->Qs;
            for (int k = 0; k < 8; k++) q[k] = u[k * GroupRows] ^ 0x80808080u;
        }
    }

    /// <inheritdoc/>
    public override Gguf.GgmlType Type => Gguf.GgmlType.Q8_0;

    /// <inheritdoc/>
    protected override void WriteBlocks(int row, byte* dst) => ToBlocks(row, (BlockQ8_0*)dst);

    /// <inheritdoc/>
    public override void MatMul(int r0, int r1, byte* a, long aRowBytes, int batch, float* y, int yStride)
        => TileQ8_0Repacked.MatMul(this, r0, r1, a, aRowBytes, batch, y, yStride);
}
