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

    /// <summary>Frees the native copy; later use throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        byte* p = _base;
        _base = null;
        if (p != null) NativeMemory.AlignedFree(p);
        GC.SuppressFinalize(this);
    }
}
