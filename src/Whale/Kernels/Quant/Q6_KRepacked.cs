using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Whale.Kernels.Quant;

/// <summary>
/// A Q6_K matrix copied at load into row groups for <see cref="TileQ6_KRepacked"/>, in native 64-byte aligned memory
/// (freed by <see cref="RepackedMatrix.Dispose"/>): decode and prefill read one sequential stream per group and nothing is packed per
/// call.
/// <para>
/// Layout: rows in groups of <see cref="RepackedMatrix.GroupRows"/> (8; the last group padded with zero rows), group g at
/// <c>Base + g · GroupBytes</c>, <c>GroupBytes</c> = 1680 · Blocks rounded up to 64 (8 × 210 bytes per super-block,
/// as in the file). First the quants of every super-block, 1536 bytes each: 16-value sub-block j as three 32-byte
/// vectors A, B, C at <c>i · 1536 + j · 96</c>, whose bytes <c>r · 4 + t</c> hold, for row r and quant q (0..63)
/// of value 16j + v:
/// A = q[v = t] | (q[12 + t] &amp; 3) &lt;&lt; 6, B = q[4 + t] | (q[12 + t] &gt;&gt; 2 &amp; 3) &lt;&lt; 6,
/// C = q[8 + t] | (q[12 + t] &gt;&gt; 4) &lt;&lt; 6; so <c>&amp; 0x3F</c> gives three slices of 4 values × 8 rows
/// directly, and the fourth slice is the top two bits of A, B, C moved to bits 0-1, 2-3, 4-5. Then per
/// super-block the 8 rows' 16 int8 scales as four dwords, dword m of row r at <c>m · 32 + r · 4</c> (128 bytes,
/// <see cref="Scales"/>), then the 8 rows' F16 d (16 bytes, <see cref="D"/>).
/// </para>
/// <para>
/// The source rows are not read again (<see cref="RepackedMatrix.DequantizeRow"/> rebuilds ggml blocks from the copy).
/// </para>
/// </summary>
internal sealed unsafe class Q6_KRepacked : RepackedMatrix
{
    /// <summary>Quant bytes of one super-block of a group.</summary>
    public const int QuantBytes = 1536;

    /// <summary>Scale bytes of one super-block of a group.</summary>
    public const int ScaleBytes = 128;

    private Q6_KRepacked(int rows, int cols) : base(rows, cols, cols / 256, (cols / 256 * (long)GroupRows * 210 + 63) & ~63L)
    {
    }

    /// <summary>The quants of group <paramref name="g"/> (super-block i at + i · 1536; 64-byte aligned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Quants(int g) => Base + g * GroupBytes;

    /// <summary>The scales of group <paramref name="g"/> (super-block i at + i · 128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Scales(int g) => Base + g * GroupBytes + (long)Blocks * QuantBytes;

    /// <summary>The F16 d of group <paramref name="g"/> (super-block i's 8 rows at + i · 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort* D(int g) => (ushort*)(Base + g * GroupBytes + (long)Blocks * (QuantBytes + ScaleBytes));

    /// <summary>
    /// Copies <paramref name="rows"/> Q6_K rows of <paramref name="cols"/> values (rows <paramref name="rowBytes"/>
    /// apart from <paramref name="data"/>) into the group layout. The source is only read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Q6_KRepacked Create(byte* data, long rowBytes, int rows, int cols)
    {
        int nb = CheckSource(data, rowBytes, rows, cols, Gguf.GgmlType.Q6_K);
        int groups = (rows + GroupRows - 1) / GroupRows;
        var m = new Q6_KRepacked(rows, cols);
        byte* q = stackalloc byte[256];
        for (int g = 0; g < groups; g++)
        {
            int valid = Math.Min(GroupRows, rows - g * GroupRows);
            for (int i = 0; i < nb; i++)
            {
                byte* dq = m.Quants(g) + i * QuantBytes;
                var sc = (uint*)(m.Scales(g) + i * ScaleBytes);
                ushort* d = m.D(g) + i * GroupRows;
                for (int r = 0; r < GroupRows; r++)
                {
                    // padding rows: quants, scales and d 0; their outputs are never stored
                    if (r >= valid)
                    {
                        new Span<byte>(q, 256).Clear();
                        for (int k = 0; k < 4; k++) sc[k * GroupRows + r] = 0;
                        d[r] = 0;
                    }
                    else
                    {
                        var blk = (BlockQ6_K*)(data + (long)(g * GroupRows + r) * rowBytes) + i;
                        Unpack(blk, q);
                        for (int k = 0; k < 4; k++) sc[k * GroupRows + r] = Unsafe.ReadUnaligned<uint>((byte*)blk->Scales + 4 * k);
                        d[r] = blk->D;
                    }
                    for (int j = 0; j < 16; j++)
                    {
                        // four quants (6 bits each) per uint: the top two bits of each byte take the fourth slice's bits
                        var v = (uint*)(q + 16 * j);
                        var o = (uint*)(dq + j * 96 + r * 4);
                        uint q3 = v[3];
                        o[0] = v[0] | (q3 & 0x03030303u) << 6;
                        o[8] = v[1] | ((q3 >> 2) & 0x03030303u) << 6;
                        o[16] = v[2] | ((q3 >> 4) & 0x03030303u) << 6;
                    }
                }
            }
            // the alignment gap after the d values (deterministic contents)
            byte* end = (byte*)(m.D(g) + nb * GroupRows), next = m.Quants(g) + m.GroupBytes;
            if (next > end) new Span<byte>(end, (int)(next - end)).Clear();
        }
        return m;
    }

    /// <summary>The 256 quants (0..63) of a ggml Q6_K block in value order (32 at a time; 16-bit shifts, masked per byte).</summary>
    private static void Unpack(BlockQ6_K* x, byte* q)
    {
        byte* ql = x->Ql;
        byte* qh = x->Qh;
        var m4 = Vector256.Create((byte)0x0F);
        var m30 = Vector256.Create((byte)0x30);
        for (int half = 0; half < 2; half++, ql += 64, qh += 32, q += 128)
        {
            var l0 = Vector256.Load(ql);
            var l1 = Vector256.Load(ql + 32);
            var h = Vector256.Load(qh).AsUInt16();
            ((l0 & m4) | (Vector256.ShiftLeft(h, 4).AsByte() & m30)).Store(q);
            ((l1 & m4) | (Vector256.ShiftLeft(h, 2).AsByte() & m30)).Store(q + 32);
            ((Vector256.ShiftRightLogical(l0.AsUInt16(), 4).AsByte() & m4) | (h.AsByte() & m30)).Store(q + 64);
            ((Vector256.ShiftRightLogical(l1.AsUInt16(), 4).AsByte() & m4) | (Vector256.ShiftRightLogical(h, 2).AsByte() & m30)).Store(q + 96);
        }
    }

    /// <summary>Writes row <paramref name="row"/> back as ggml Q6_K blocks (Blocks × 210 bytes), exactly the source row.</summary>
    public void ToBlocks(int row, BlockQ6_K* dst)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row));
        int g = row / GroupRows, r = row % GroupRows;
        byte* q = stackalloc byte[256];
        for (int i = 0; i < Blocks; i++, dst++)
        {
            byte* src = Quants(g) + i * QuantBytes + r * 4;
            for (int j = 0; j < 16; j++)
            {
                byte* a = src + j * 96;
                byte* v = q + 16 * j;
                for (int t = 0; t < 4; t++)
                {
                    v[t] = (byte)(a[t] & 0x3F);
                    v[4 + t] = (byte)(a[32 + t] & 0x3F);
                    v[8 + t] = (byte)(a[64 + t] & 0x3F);
                    v[12 + t] = (byte)((a[t] >> 6) | (a[32 + t] >> 6) << 2 | (a[64 + t] >> 6) << 4);
                }
            }
            byte* ql = dst->Ql;
            byte* qh = dst->Qh;
            byte* p = q;
            for (int half = 0; half < 2; half++, ql += 64, qh += 32, p += 128)
                for (int l = 0; l < 32; l++)
                {
                    ql[l] = (byte)((p[l] & 0xF) | (p[l + 64] & 0xF) << 4);
                    ql[l + 32] = (byte)((p[l + 32] & 0xF) | (p[l + 96] & 0xF) << 4);
                    qh[l] = (byte)((p[l] >> 4) | (p[l + 32] >> 4) << 2 | (p[l + 64] >> 4) << 4 | (p[l + 96] >> 4) << 6);
                }
            var sc = (uint*)(Scales(g) + i * ScaleBytes);
            for (int k = 0; k < 4; k++) Unsafe.WriteUnaligned((byte*)dst->Scales + 4 * k, sc[k * GroupRows + r]);
            dst->D = D(g)[i * GroupRows + r];
        }
    }

    /// <inheritdoc/>
    public override Gguf.GgmlType Type => Gguf.GgmlType.Q6_K;

    /// <inheritdoc/>
    protected override void WriteBlocks(int row, byte* dst) => ToBlocks(row, (BlockQ6_K*)dst);

    /// <inheritdoc/>
    public override void MatMul(int r0, int r1, byte* a, long aRowBytes, int batch, float* y, int yStride)
        => TileQ6_KRepacked.MatMul(this, r0, r1, a, aRowBytes, batch, y, yStride);
}
