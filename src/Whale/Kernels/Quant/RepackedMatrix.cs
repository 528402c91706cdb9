using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Whale.Gguf;

namespace Whale.Kernels.Quant;

/// <summary>
/// A quantized weight matrix copied at load into groups of <see cref="GroupRows"/> rows for a row-lane kernel (lane r of
/// a 256-bit register = row r of the group), in 64-byte aligned native memory freed by <see cref="Dispose"/>. What
/// every repacked type shares: the group arithmetic, the memory, row lookups (<see cref="DequantizeRow"/> rebuilds the
/// source row's ggml blocks from the copy; the source is never read again) and the product
/// (<see cref="MatMul"/>, each type's kernel). The layout inside a group is the subclass's.
/// </summary>
internal abstract unsafe class RepackedMatrix : IDisposable
{
    /// <summary>Rows per group (the lanes of one 256-bit register of 32-bit sums).</summary>
    public const int GroupRows = 8;

    /// <summary>
    /// Bytes of activation rows the row-lane kernels prepare at a time: they stay in L2 (2 MB per core here) while a
    /// thread's row groups stream past.
    /// </summary>
    public const int ChunkBytes = 1536 << 10;

    /// <summary>
    /// How far ahead of the block being read the row-lane kernels prefetch a group's weights (into L2: prefetcht1).
    /// Measured for Q4_K_M decode: 0 / 4 / 16 / 32 / 64 KB -> 9.4 / 11.3 / 12.2-12.5 / 12.4-12.5 / 12.3-12.4 t/s.
    /// </summary>
    public const int PrefetchBytes = 16384;

    /// <summary>
    /// How far ahead the K-quant decode kernels (one activation row) prefetch into L2, a few lines at a time spread
    /// through the loop (not a burst per super-block); with <see cref="L1PrefetchBytes"/>. Cold single-thread Q4_K
    /// 8960 x 1536, GB/s, variants alternated in one process: burst at 16 KB 11.7, spread at 16 KB 12.1-12.6, at
    /// 32 KB 12.9-13.1, at 32 KB with an L1 prefetch 3-4 KB ahead 13.3-13.5 (the probe 15.2-15.3); Q6_K burst at
    /// 16 KB 13.0, spread at 32 KB + L1 4.5 KB 14.5.
    /// </summary>
    public const int DecodePrefetchBytes = 32768;

    /// <summary>
    /// How far ahead the row-lane kernels also prefetch into L1 (prefetcht0), so the loads that follow find their lines
    /// there: +4 % for Q8_0 decode, +2-3 % for Q4_K on top of the L2 prefetch (measured as for <see cref="DecodePrefetchBytes"/>).
    /// </summary>
    public const int L1PrefetchBytes = 4096;

    [ThreadStatic] private static byte[]? t_blocks;

    private byte* _base;

    /// <summary>Allocates <paramref name="groupBytes"/> (a multiple of 64) for each group of <paramref name="rows"/> rows.</summary>
    protected RepackedMatrix(int rows, int cols, int blocks, long groupBytes)
    {
        Rows = rows; Cols = cols; Blocks = blocks; GroupBytes = groupBytes;
        _base = (byte*)NativeMemory.AlignedAlloc((nuint)(Groups * groupBytes), 64);
    }

    /// <summary>The ggml type of the source rows.</summary>
    public abstract GgmlType Type { get; }
    /// <summary>Rows of the matrix (the padding rows of the last group not counted).</summary>
    public int Rows { get; }
    /// <summary>Values per row.</summary>
    public int Cols { get; }
    /// <summary>Quantization blocks (or super-blocks) per row.</summary>
    public int Blocks { get; }
    /// <summary>Bytes from one group to the next (a multiple of 64).</summary>
    public long GroupBytes { get; }
    /// <summary>Number of row groups, the padded last one included.</summary>
    public int Groups => (Rows + GroupRows - 1) / GroupRows;
    /// <summary>Bytes of native memory held.</summary>
    public long ByteSize => Groups * GroupBytes;

    /// <summary>First byte of group 0; throws after <see cref="Dispose"/>.</summary>
    public byte* Base
    {
        get
        {
            ObjectDisposedException.ThrowIf(_base == null, this);
            return _base;
        }
    }

    /// <summary>
    /// Checks a Create call's source: <paramref name="rows"/> ≥ 1 rows of <paramref name="cols"/> values of
    /// <paramref name="type"/> (a positive multiple of its block size), <paramref name="rowBytes"/> apart from
    /// <paramref name="data"/> (not null, at least a row's bytes). Returns the blocks per row.
    /// </summary>
    protected static int CheckSource(byte* data, long rowBytes, int rows, int cols, GgmlType type)
    {
        if (data == null) throw new ArgumentNullException(nameof(data));
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        int bs = GgmlTypeTraits.BlockSize(type);
        if (cols <= 0 || cols % bs != 0) throw new ArgumentException($"{type} rows need a positive multiple of {bs} values, got {cols}", nameof(cols));
        if (rowBytes < GgmlTypeTraits.RowBytes(type, cols)) throw new ArgumentException($"rowBytes {rowBytes} is shorter than a {type} row of {cols} values", nameof(rowBytes));
        return cols / bs;
    }

    /// <summary>Writes row <paramref name="row"/> back as the source's ggml blocks (exactly the source row's bytes).</summary>
    protected abstract void WriteBlocks(int row, byte* dst);

    /// <summary>
    /// y[b * yStride + r] = dot(W[r], A[b]) for r in [r0, r1), b in [0, batch), in the type's row-lane order: A rows of
    /// <paramref name="aRowBytes"/> bytes of the activation type (Q8_0 or Q8_K) at <paramref name="a"/>.
    /// </summary>
    public abstract void MatMul(int r0, int r1, byte* a, long aRowBytes, int batch, float* y, int yStride);

    /// <summary>Dequantizes one row to F32, bit-identical to <see cref="Quantizer.DequantizeRow(GgmlType, byte*, float*, int)"/> on the source row.</summary>
    public void DequantizeRow(int row, float* dst)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row));
        long bytes = GgmlTypeTraits.RowBytes(Type, Cols);
        var b = t_blocks;
        if (b is null || b.Length < bytes)
            t_blocks = b = GC.AllocateUninitializedArray<byte>((int)Math.Max(bytes, 16 << 10), pinned: true);
        byte* blocks = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(b));
        WriteBlocks(row, blocks);
        Quantizer.DequantizeRow(Type, blocks, dst, Cols);
    }

    /// <summary>
    /// Where group <paramref name="g"/>'s outputs of a product over rows [<paramref name="r0"/>, <paramref name="r1"/>)
    /// go: straight into <paramref name="y"/> when the whole group lies in the range, else into <paramref name="tile"/>
    /// (8 values per activation row), from which <see cref="StorePartial"/> copies the rows in range.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float* GroupOutput(int g, int r0, int r1, float* y, int yStride, float* tile, out int oStride)
    {
        int gr = g * GroupRows;
        bool whole = gr >= r0 && gr + GroupRows <= r1;
        oStride = whole ? yStride : GroupRows;
        return whole ? y + gr : tile;
    }

    /// <summary>For a group cut by the range (or padded): copies its rows in [r0, r1) from the tile into y (a whole group: nothing).</summary>
    internal static void StorePartial(int g, int r0, int r1, float* tile, int batch, float* y, int yStride)
    {
        int gr = g * GroupRows;
        if (gr >= r0 && gr + GroupRows <= r1) return;
        int lo = Math.Max(gr, r0), hi = Math.Min(gr + GroupRows, r1);
        for (int b = 0; b < batch; b++)
            for (int r = lo; r < hi; r++)
                y[(long)b * yStride + r] = tile[b * GroupRows + r - gr];
    }

    /// <summary>Frees the native copy; later use throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        byte* p = _base;
        _base = null;
        if (p != null) NativeMemory.AlignedFree(p);
        GC.SuppressFinalize(this);
    }
}
