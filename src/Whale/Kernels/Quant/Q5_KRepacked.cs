using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Whale.Kernels.Quant;

/// <summary>
/// A Q5_K matrix copied at load into row groups for <see cref="TileQ5_KRepacked"/>, in native 64-byte aligned memory
/// (freed by <see cref="RepackedMatrix.Dispose"/>). The layout of <see cref="Q4_KRepacked"/> with the fifth bits in a plane of their
/// own: group g at <c>Base + g · GroupBytes</c>, <c>GroupBytes</c> = 1408 · Blocks (8 × 176 bytes per super-block, as in
/// the file): the quants' low four bits (1024 bytes per super-block, as Q4_K: dword 8p+k of each row's ggml <c>qs</c>),
/// then the fifth bits (256 bytes per super-block: for sub-block j a 32-byte vector at <c>i · 256 + j · 32</c> whose
/// bit k of byte <c>r · 4 + t</c> is bit 4 of value 4k+t of sub-block j of row r, i.e. bit j of the row's
/// <c>qh[4k + t]</c>), then the metadata (128 bytes per super-block, as Q4_K: scales/mins, d, dmin). The source rows
/// are not read again (<see cref="RepackedMatrix.DequantizeRow"/> rebuilds ggml blocks from the copy).
/// </summary>
internal sealed unsafe class Q5_KRepacked : RepackedMatrix
{
    /// <summary>Bytes of the low four bits of one super-block of a group.</summary>
    public const int QuantBytes = 1024;

    /// <summary>Bytes of the fifth bits of one super-block of a group.</summary>
    public const int FifthBitBytes = 256;

    /// <summary>Metadata bytes of one super-block of a group (as <see cref="Q4_KRepacked.MetaBytes"/>).</summary>
    public const int MetaBytes = 128;

    private Q5_KRepacked(int rows, int cols) : base(rows, cols, cols / 256, cols / 256 * (long)(QuantBytes + FifthBitBytes + MetaBytes))
    {
    }

    /// <summary>The low four bits of group <paramref name="g"/> (super-block i at + i · 1024; 64-byte aligned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Quants(int g) => Base + g * GroupBytes;

    /// <summary>The fifth bits of group <paramref name="g"/> (super-block i at + i · 256).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* FifthBits(int g) => Base + g * GroupBytes + (long)Blocks * QuantBytes;

    /// <summary>The metadata of group <paramref name="g"/> (super-block i at + i · 128: scales, d, dmin).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Meta(int g) => Base + g * GroupBytes + (long)Blocks * (QuantBytes + FifthBitBytes);

    /// <summary>
    /// Copies <paramref name="rows"/> Q5_K rows of <paramref name="cols"/> values (rows <paramref name="rowBytes"/>
    /// apart from <paramref name="data"/>) into the group layout. The source is only read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Q5_KRepacked Create(byte* data, long rowBytes, int rows, int cols)
    {
        int nb = CheckSource(data, rowBytes, rows, cols, Gguf.GgmlType.Q5_K);
        int groups = (rows + GroupRows - 1) / GroupRows;
        var m = new Q5_KRepacked(rows, cols);
        for (int g = 0; g < groups; g++)
        {
            int valid = Math.Min(GroupRows, rows - g * GroupRows);
            for (int i = 0; i < nb; i++)
            {
                var q = (uint*)(m.Quants(g) + i * QuantBytes);
                byte* hb = m.FifthBits(g) + i * FifthBitBytes;
                byte* meta = m.Meta(g) + i * MetaBytes;
                for (int r = 0; r < GroupRows; r++)
                {
                    // padding rows: everything 0; their outputs are never stored
                    if (r >= valid)
                    {
                        Q4_KRepacked.PutRow(q, meta, r, null, null, 0, 0);
                        for (int j = 0; j < 8; j++) *(uint*)(hb + j * 32 + r * 4) = 0;
                        continue;
                    }
                    var blk = (BlockQ5_K*)(data + (long)(g * GroupRows + r) * rowBytes) + i;
                    Q4_KRepacked.PutRow(q, meta, r, blk->Qs, blk->Scales, blk->D, blk->DMin);
                    for (int j = 0; j < 8; j++)
                        for (int t = 0; t < 4; t++)
                        {
                            int bits = 0;
                            for (int k = 0; k < 8; k++) bits |= ((blk->Qh[4 * k + t] >> j) & 1) << k;
                            hb[j * 32 + r * 4 + t] = (byte)bits;
                        }
                }
            }
        }
        return m;
    }

    /// <summary>Writes row <paramref name="row"/> back as ggml Q5_K blocks (Blocks × 176 bytes), exactly the source row.</summary>
    public void ToBlocks(int row, BlockQ5_K* dst)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row));
        int g = row / GroupRows, r = row % GroupRows;
        for (int i = 0; i < Blocks; i++, dst++)
        {
            byte* hb = FifthBits(g) + i * FifthBitBytes;
            Q4_KRepacked.GetRow((uint*)(Quants(g) + i * QuantBytes), Meta(g) + i * MetaBytes, r, dst->Qs, dst->Scales, out dst->D, out dst->DMin);
            for (int l = 0; l < 32; l++)
            {
                int k = l / 4, t = l % 4, bits = 0;
                for (int j = 0; j < 8; j++) bits |= ((hb[j * 32 + r * 4 + t] >> k) & 1) << j;
                dst->Qh[l] = (byte)bits;
            }
        }
    }

    /// <inheritdoc/>
    public override Gguf.GgmlType Type => Gguf.GgmlType.Q5_K;

    /// <inheritdoc/>
    protected override void WriteBlocks(int row, byte* dst) => ToBlocks(row, (BlockQ5_K*)dst);

    /// <inheritdoc/>
    public override void MatMul(int r0, int r1, byte* a, long aRowBytes, int batch, float* y, int yStride)
        => TileQ5_KRepacked.MatMul(this, r0, r1, a, aRowBytes, batch, y, yStride);
}
