using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Whale.Kernels.Quant;

/// <summary>
/// A Q4_K matrix copied at load into row groups for <see cref="TileQ4_KRepacked"/>, in native 64-byte aligned memory
/// (freed by <see cref="RepackedMatrix.Dispose"/>): decode and prefill read one sequential stream per group and nothing is packed per
/// call.
/// <para>
/// Layout: rows in groups of <see cref="RepackedMatrix.GroupRows"/> (8; the last group padded with zero rows), group g at
/// <c>Base + g · GroupBytes</c>, <c>GroupBytes</c> = 1152 · Blocks (8 × 144 bytes per super-block, as in the file):
/// first the quants of every super-block, 1024 bytes each: for sub-block pair p (sub-blocks 2p, 2p+1) and slice k
/// (values 4k..4k+3 of both), 32 bytes at <c>i · 1024 + p · 256 + k · 32</c> whose byte <c>r · 4 + t</c> is
/// q[row r, sub-block 2p, 4k+t] | q[row r, sub-block 2p+1, 4k+t] &lt;&lt; 4, that is dword 8p+k of row r's ggml
/// <c>qs</c> unchanged; one aligned load holds 4 values of two sub-blocks of all 8 rows. Then per super-block 128
/// bytes of metadata (<see cref="Meta"/>): the three dwords of each row's 12 packed 6-bit scales and mins, dword m
/// of row r at <c>m · 32 + r · 4</c> (ggml's bytes unchanged), then the 8 rows' F16 d, then their F16 dmin.
/// </para>
/// <para>
/// The source rows are not read again (<see cref="RepackedMatrix.DequantizeRow"/> rebuilds ggml blocks from the copy).
/// </para>
/// </summary>
internal sealed unsafe class Q4_KRepacked : RepackedMatrix
{
    /// <summary>Quant bytes of one super-block of a group.</summary>
    public const int QuantBytes = 1024;

    /// <summary>Metadata bytes of one super-block of a group: 96 bytes of scales/mins, 16 of d, 16 of dmin.</summary>
    public const int MetaBytes = 128;

    private Q4_KRepacked(int rows, int cols) : base(rows, cols, cols / 256, cols / 256 * (long)(QuantBytes + MetaBytes))
    {
    }

    /// <summary>The quants of group <paramref name="g"/> (super-block i at + i · 1024; 64-byte aligned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Quants(int g) => Base + g * GroupBytes;

    /// <summary>The metadata of group <paramref name="g"/> (super-block i at + i · 128: scales, d, dmin).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Meta(int g) => Base + g * GroupBytes + (long)Blocks * QuantBytes;

    /// <summary>
    /// Copies <paramref name="rows"/> Q4_K rows of <paramref name="cols"/> values (rows <paramref name="rowBytes"/>
    /// apart from <paramref name="data"/>) into the group layout. The source is only read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Q4_KRepacked Create(byte* data, long rowBytes, int rows, int cols)
    {
        int nb = CheckSource(data, rowBytes, rows, cols, Gguf.GgmlType.Q4_K);
        int groups = (rows + GroupRows - 1) / GroupRows;
        long groupBytes = (long)nb * (QuantBytes + MetaBytes);
        var m = new Q4_KRepacked(rows, cols);
        for (int g = 0; g < groups; g++)
        {
            int valid = Math.Min(GroupRows, rows - g * GroupRows);
            for (int i = 0; i < nb; i++)
            {
                var q = (uint*)(m.Quants(g) + i * QuantBytes);
                byte* meta = m.Meta(g) + i * MetaBytes;
                for (int r = 0; r < GroupRows; r++)
                {
                    // padding rows: quants, scales, d and dmin 0; their outputs are never stored
                    if (r >= valid) { PutRow(q, meta, r, null, null, 0, 0); continue; }
                    var blk = (BlockQ4_K*)(data + (long)(g * GroupRows + r) * rowBytes) + i;
                    PutRow(q, meta, r, blk->Qs, blk->Scales, blk->D, blk->DMin);
                }
            }
        }
        return m;
    }

    /// <summary>
    /// Row <paramref name="r"/> of one super-block of a group: its 128 quant bytes into the slices <paramref name="q"/>,
    /// its 12 scale bytes, d and dmin into <paramref name="meta"/> (null <paramref name="qs"/>: a zero padding row).
    /// Shared with <see cref="Q5_KRepacked"/>, whose quants and metadata have this layout.
    /// </summary>
    internal static void PutRow(uint* q, byte* meta, int r, byte* qs, byte* scales, ushort d, ushort dmin)
    {
        for (int k = 0; k < 32; k++) q[k * GroupRows + r] = qs == null ? 0 : ((uint*)qs)[k];
        for (int k = 0; k < 3; k++) ((uint*)meta)[k * GroupRows + r] = scales == null ? 0 : Unsafe.ReadUnaligned<uint>(scales + 4 * k);
        ((ushort*)(meta + 96))[r] = d;
        ((ushort*)(meta + 112))[r] = dmin;
    }

    /// <summary>The inverse of <see cref="PutRow"/>: row <paramref name="r"/>'s quant bytes, scale bytes, d and dmin.</summary>
    internal static void GetRow(uint* q, byte* meta, int r, byte* qs, byte* scales, out ushort d, out ushort dmin)
    {
        for (int k = 0; k < 32; k++) ((uint*)qs)[k] = q[k * GroupRows + r];
        for (int k = 0; k < 3; k++) Unsafe.WriteUnaligned(scales + 4 * k, ((uint*)meta)[k * GroupRows + r]);
        d = ((ushort*)(meta + 96))[r];
        dmin = ((ushort*)(meta + 112))[r];
    }

    /// <summary>Writes row <paramref name="row"/> back as ggml Q4_K blocks (Blocks × 144 bytes), exactly the source row.</summary>
    public void ToBlocks(int row, BlockQ4_K* dst)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row));
        int g = row / GroupRows, r = row % GroupRows;
        for (int i = 0; i < Blocks; i++, dst++)
        {
            GetRow((uint*)(Quants(g) + i * QuantBytes), Meta(g) + i * MetaBytes, r, dst->Qs, dst->Scales, out dst->D, out dst->DMin);
        }
    }

    /// <inheritdoc/>
    public override Gguf.GgmlType Type => Gguf.GgmlType.Q4_K;

    /// <inheritdoc/>
    protected override void WriteBlocks(int row, byte* dst) => ToBlocks(row, (BlockQ4_K*)dst);

    /// <inheritdoc/>
    public override void MatMul(int r0, int r1, byte* a, long aRowBytes, int batch, float* y, int yStride)
        => TileQ4_KRepacked.MatMul(this, r0, r1, a, aRowBytes, batch, y, yStride);
}
