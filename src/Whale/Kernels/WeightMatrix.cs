using System.Runtime.CompilerServices;
using Whale.Gguf;
using Whale.Kernels.Quant;

namespace Whale.Kernels;

/// <summary>
/// A 2-D weight (rows x cols, row-major, in its GGUF type) used in place, with the matrix products of its type:
/// activations are converted the way llama.cpp does (F32 for F32, F16 for F16, BF16 for BF16, Q8_0 for
/// Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for K-quants) and multiplied with integer dot products.
/// A Q8_0, Q4_K, Q5_K or Q6_K matrix can be repacked (<see cref="Repack"/>): the products and row lookups then read
/// an aligned native copy in the repacked kernels' layout instead of the rows at <see cref="Data"/>, summed in their
/// row-lane order (<see cref="RepackedMatrix"/>; llama.cpp's bits only in place); <see cref="Dispose"/> frees that copy.
/// </summary>
public sealed unsafe class WeightMatrix : IDisposable
{
    /// <summary>The repacked copy (<see cref="Q8_0Repacked"/>, <see cref="Q4_KRepacked"/>, <see cref="Q5_KRepacked"/> or <see cref="Q6_KRepacked"/>: <see cref="RepackedMatrix"/>), or null.</summary>
    private RepackedMatrix? _repacked;

    /// <summary>Wraps <paramref name="rows"/> rows of <paramref name="cols"/> values of <paramref name="type"/> at <paramref name="data"/> (not copied; must outlive this object).</summary>
    public WeightMatrix(GgmlType type, byte* data, int cols, int rows)
    {
        Type = type; Data = data; Cols = cols; Rows = rows; RowBytes = GgmlTypeTraits.RowBytes(type, cols);
    }

    /// <summary>Storage type of the weights.</summary>
    public GgmlType Type { get; }
    /// <summary>First byte of row 0 in the GGUF layout (not read by the products once the matrix is repacked).</summary>
    public byte* Data { get; }
    /// <summary>Values per row (the input dimension).</summary>
    public int Cols { get; }
    /// <summary>Number of rows (the output dimension).</summary>
    public int Rows { get; }
    /// <summary>Bytes of one weight row.</summary>
    public long RowBytes { get; }

    /// <summary>True when the products read a repacked copy (see <see cref="Repack"/>).</summary>
    public bool IsRepacked => _repacked is not null;

    /// <summary>Bytes of native memory held by the repacked copy (0 when not repacked).</summary>
    public long RepackedBytes => _repacked?.ByteSize ?? 0;

    /// <summary>True when <see cref="Repack"/> would repack this matrix on this machine (Q8_0, Q4_K, Q5_K or Q6_K, with AVX-512 and AVX-VNNI).</summary>
    public bool CanRepack => Rows > 0 && Type switch
    {
        GgmlType.Q8_0 => TileQ8_0Repacked.IsSupported && Cols % 32 == 0,
        GgmlType.Q4_K => TileQ4_KRepacked.IsSupported && Cols % 256 == 0,
        GgmlType.Q5_K => TileQ5_KRepacked.IsSupported && Cols % 256 == 0,
        GgmlType.Q6_K => TileQ6_KRepacked.IsSupported && Cols % 256 == 0,
        _ => false,
    };

    /// <summary>
    /// Copies the weights once into the layout of the repacked kernels (<see cref="Q8_0Repacked"/>,
    /// <see cref="Q4_KRepacked"/>, <see cref="Q5_KRepacked"/>, <see cref="Q6_KRepacked"/>: 8-row groups of block-major
    /// quants in 4-byte slices and their scales, as many bytes as the rows, in 64-byte aligned native memory), so that
    /// every later product streams them sequentially, packs nothing and runs <see cref="TileQ8_0Repacked"/> /
    /// <see cref="TileQ4_KRepacked"/> / <see cref="TileQ5_KRepacked"/> / <see cref="TileQ6_KRepacked"/> (row-lane order:
    /// results differ from the in-place, llama.cpp-identical products by float rounding); the rows at <see cref="Data"/>
    /// are read here and never again. Returns false (and does nothing) when <see cref="CanRepack"/> is false or, for
    /// Q8_0, a block scale is not finite (a broken file: it stays in place, computing what llama.cpp does; the K-quant
    /// kernels convert their scales exactly, non-finite ones included). Not thread-safe against products running on
    /// this matrix.
    /// </summary>
    public bool Repack()
    {
        if (_repacked is not null) return true;
        if (!CanRepack) return false;
        _repacked = Type switch
        {
            GgmlType.Q8_0 => Q8_0Repacked.Create(Data, RowBytes, Rows, Cols),
            GgmlType.Q4_K => Q4_KRepacked.Create(Data, RowBytes, Rows, Cols),
            GgmlType.Q5_K => Q5_KRepacked.Create(Data, RowBytes, Rows, Cols),
            _ => (RepackedMatrix)Q6_KRepacked.Create(Data, RowBytes, Rows, Cols),
        };
        return _repacked is not null;
    }

    /// <summary>Frees the repacked copy, if any; the matrix then reads its rows in place again.</summary>
    public void Dispose()
    {
        var r = _repacked;
        _repacked = null;
        r?.Dispose();
    }

    /// <summary>The type activations are converted to before the dot products.</summary>
    public GgmlType ActivationType => ActivationQuantizer.VecDotType(Type);
    /// <summary>Bytes of one converted activation row (Cols values).</summary>
    public long ActivationRowBytes => GgmlTypeTraits.RowBytes(ActivationType, Cols);

    /// <summary>Converts <paramref name="batch"/> rows of Cols floats into <paramref name="qx"/> (batch * ActivationRowBytes).</summary>
    public void ConvertActivations(ReadOnlySpan<float> x, int batch, Span<byte> qx)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        long arb = ActivationRowBytes;
        if (x.Length < (long)batch * Cols) throw new ArgumentException("x is shorter than batch * Cols", nameof(x));
        if (qx.Length < batch * arb) throw new ArgumentException("qx is shorter than batch * ActivationRowBytes", nameof(qx));
        var type = ActivationType;
        fixed (float* px = x)
        fixed (byte* pq = qx)
        {
            for (int b = 0; b < batch; b++)
                ActivationQuantizer.Convert(type, px + (long)b * Cols, pq + b * arb, Cols);
        }
    }

    /// <summary>y[b * Rows + r] = dot(W[r], x[b]) for r in [rowStart, rowEnd), b in [0, batch); qx from ConvertActivations.</summary>
    public void MatMul(ReadOnlySpan<byte> qx, int batch, Span<float> y, int rowStart, int rowEnd)
        => MatMul(qx, batch, y, rowStart, rowEnd, batchOrder: batch >= 2);

    /// <summary>
    /// As <see cref="MatMul(ReadOnlySpan{byte}, int, Span{float}, int, int)"/>, choosing the summation order:
    /// <paramref name="batchOrder"/> = the order llama.cpp uses for two or more activation rows (tinyBLAS for float
    /// types) even for one row, so every row's result is independent of the batch it came in (continuous batching).
    /// </summary>
    public void MatMul(ReadOnlySpan<byte> qx, int batch, Span<float> y, int rowStart, int rowEnd, bool batchOrder)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        if (rowStart < 0 || rowEnd > Rows || rowStart > rowEnd)
            throw new ArgumentOutOfRangeException(nameof(rowStart), $"rows [{rowStart}, {rowEnd}) outside [0, {Rows})");
        if (batch == 0 || rowStart == rowEnd) return;
        long arb = ActivationRowBytes;
        if (qx.Length < batch * arb) throw new ArgumentException("qx is shorter than batch * ActivationRowBytes", nameof(qx));
        if (y.Length < (long)(batch - 1) * Rows + rowEnd) throw new ArgumentException("y is shorter than batch * Rows", nameof(y));
        int n = Cols;
        if (_repacked is { } rp)
        {
            fixed (byte* pq = qx)
            fixed (float* py = y)
                rp.MatMul(rowStart, rowEnd, pq, arb, batch, py, Rows);
            return;
        }
        if (Type == GgmlType.Q8_0 && TileQ8_0Avx512.IsSupported)
        {
            fixed (byte* pq = qx)
            fixed (float* py = y)
                TileQ8_0Avx512.MatMul(Data, RowBytes, rowStart, rowEnd, pq, arb, batch, n, py, Rows);
            return;
        }
        if (Type == GgmlType.Q8_0 && TileQ8_0.IsSupported)
        {
            fixed (byte* pq = qx)
            fixed (float* py = y)
                TileQ8_0.MatMul(Data, RowBytes, rowStart, rowEnd, pq, arb, batch, n, py, Rows);
            return;
        }
        if (batch <= GemvKQuants.MaxSmallBatch)
        {
            fixed (byte* pq = qx)
            fixed (float* py = y)
                if (batch == 1 ? GemvKQuants.TryMatVec(Type, Data, RowBytes, rowStart, rowEnd, pq, n, py)
                    : GemvKQuants.TryMatMulSmall(Type, Data, RowBytes, rowStart, rowEnd, pq, arb, batch, n, py, Rows)) return;
        }
        if (batch >= 2)
        {
            fixed (byte* pq = qx)
            fixed (float* py = y)
                if (Tiles.TryMatMul(Type, Data, RowBytes, rowStart, rowEnd, pq, arb, batch, n, py, Rows, batchOrder)) return;
        }
        // llama.cpp hands float-type matmuls with two or more activation rows to tinyBLAS (other summation order).
        var dot = batchOrder && n % 16 == 0 && Type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 ? ChainDotFor(Type) : DotFor(Type);
        fixed (byte* pq = qx)
        fixed (float* py = y)
        {
            byte* w = Data + rowStart * RowBytes;
            for (int r = rowStart; r < rowEnd; r++, w += RowBytes)
            {
                byte* a = pq;
                float* o = py + r;
                for (int b = 0; b < batch; b++, a += arb, o += Rows)
                    *o = dot(w, a, n);
            }
        }
    }

    /// <summary>
    /// Row granularity of the products: a row range passed to MatMul that starts and ends on multiples of this (or at
    /// Rows) keeps every register tile whole. Split rows across threads with it (<see cref="WorkerPool.Split"/>).
    /// </summary>
    public int RowAlignment => _repacked is not null ? RepackedMatrix.GroupRows
        : Type == GgmlType.Q8_0 && TileQ8_0Avx512.IsSupported ? TileQ8_0Avx512.RowTile : 4;

    /// <summary>
    /// y = W·x for <paramref name="batch"/> rows of x, rows split across the pool's workers (activations converted
    /// on the workers too when batch ≥ 2). <paramref name="scratch"/> holds the converted activations (at least
    /// batch * ActivationRowBytes bytes). Allocation-free.
    /// </summary>
    public void MatMul(WorkerPool pool, ReadOnlySpan<float> x, int batch, Span<float> y, Span<byte> scratch)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        if (x.Length < (long)batch * Cols) throw new ArgumentException("x is shorter than batch * Cols", nameof(x));
        if (y.Length < (long)batch * Rows) throw new ArgumentException("y is shorter than batch * Rows", nameof(y));
        if (scratch.Length < batch * ActivationRowBytes) throw new ArgumentException("scratch is shorter than batch * ActivationRowBytes", nameof(scratch));
        if (batch == 0) return;
        fixed (float* px = x)
        fixed (byte* pq = scratch)
        fixed (float* py = y)
        {
            var job = new PoolJob { Matrix = this, X = px, Qx = pq, Y = py, Batch = batch };
            void* state = Unsafe.AsPointer(ref job);
            if (batch >= 2 && pool.WorkerCount > 1) pool.Run(&ConvertWorker, state);
            else ConvertActivations(x, batch, scratch);
            pool.Run(&MatMulWorker, state);
        }
    }

    /// <summary>One pool product: the caller's stack holds it while the workers run.</summary>
    private struct PoolJob
    {
        public WeightMatrix Matrix;
        public float* X;
        public byte* Qx;
        public float* Y;
        public int Batch;
    }

    private static void ConvertWorker(void* state, int index, int count)
    {
        ref var job = ref Unsafe.AsRef<PoolJob>(state);
        var m = job.Matrix;
        var (s, e) = WorkerPool.Split(job.Batch, index, count);
        if (s >= e) return;
        long arb = m.ActivationRowBytes;
        var type = m.ActivationType;
        for (int b = s; b < e; b++)
            ActivationQuantizer.Convert(type, job.X + (long)b * m.Cols, job.Qx + b * arb, m.Cols);
    }

    private static void MatMulWorker(void* state, int index, int count)
    {
        ref var job = ref Unsafe.AsRef<PoolJob>(state);
        var m = job.Matrix;
        var (s, e) = WorkerPool.Split(m.Rows, index, count, m.RowAlignment);
        if (s < e)
            m.MatMul(new ReadOnlySpan<byte>(job.Qx, (int)(job.Batch * m.ActivationRowBytes)), job.Batch, new Span<float>(job.Y, job.Batch * m.Rows), s, e);
    }

    /// <summary>Dequantizes one row to F32 (embedding lookup).</summary>
    public void DequantizeRow(int row, Span<float> dst)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row));
        if (dst.Length < Cols) throw new ArgumentException("dst is shorter than Cols", nameof(dst));
        fixed (float* d = dst)
        {
            if (_repacked is { } rp) rp.DequantizeRow(row, d);
            else Quantizer.DequantizeRow(Type, Data + row * RowBytes, d, Cols);
        }
    }

    private static delegate*<byte*, byte*, int, float> DotFor(GgmlType type) => type switch
    {
        GgmlType.F32 => &DotF32,
        GgmlType.F16 => &DotF16,
        GgmlType.BF16 => &DotBF16,
        GgmlType.Q4_0 => &DotQ4_0,
        GgmlType.Q5_0 => &DotQ5_0,
        GgmlType.Q8_0 => &DotQ8_0,
        GgmlType.Q4_1 => &DotQ4_1,
        GgmlType.Q5_1 => &DotQ5_1,
        GgmlType.Q4_K => &DotQ4_K,
        GgmlType.Q5_K => &DotQ5_K,
        GgmlType.Q6_K => &DotQ6_K,
        _ => throw new NotSupportedException($"no matrix product for weight type {type}"),
    };

    private static delegate*<byte*, byte*, int, float> ChainDotFor(GgmlType type) => type switch
    {
        GgmlType.F32 => &ChainF32,
        GgmlType.F16 => &ChainF16,
        GgmlType.BF16 => &ChainBF16,
        _ => throw new NotSupportedException($"no tinyBLAS-order product for {type}"),
    };

    private static float ChainF32(byte* w, byte* a, int n) => VecDot.ChainF32((float*)w, (float*)a, n);
    private static float ChainF16(byte* w, byte* a, int n) => VecDot.ChainF16((ushort*)w, (ushort*)a, n);
    private static float ChainBF16(byte* w, byte* a, int n) => VecDot.ChainBF16((ushort*)w, (ushort*)a, n);
    private static float DotF32(byte* w, byte* a, int n) => VecDot.F32((float*)w, (float*)a, n);
    private static float DotF16(byte* w, byte* a, int n) => VecDot.F16((ushort*)w, (ushort*)a, n);
    private static float DotBF16(byte* w, byte* a, int n) => VecDot.BF16((ushort*)w, (ushort*)a, n);
    private static float DotQ4_0(byte* w, byte* a, int n) => VecDot.Q4_0Q8_0((BlockQ4_0*)w, (BlockQ8_0*)a, n);
    private static float DotQ5_0(byte* w, byte* a, int n) => VecDot.Q5_0Q8_0((BlockQ5_0*)w, (BlockQ8_0*)a, n);
    private static float DotQ8_0(byte* w, byte* a, int n) => VecDot.Q8_0Q8_0((BlockQ8_0*)w, (BlockQ8_0*)a, n);
    private static float DotQ4_1(byte* w, byte* a, int n) => VecDot.Q4_1Q8_1((BlockQ4_1*)w, (BlockQ8_1*)a, n);
    private static float DotQ5_1(byte* w, byte* a, int n) => VecDot.Q5_1Q8_1((BlockQ5_1*)w, (BlockQ8_1*)a, n);
    private static float DotQ4_K(byte* w, byte* a, int n) => VecDot.Q4_KQ8_K((BlockQ4_K*)w, (BlockQ8_K*)a, n);
    private static float DotQ5_K(byte* w, byte* a, int n) => VecDot.Q5_KQ8_K((BlockQ5_K*)w, (BlockQ8_K*)a, n);
    private static float DotQ6_K(byte* w, byte* a, int n) => VecDot.Q6_KQ8_K((BlockQ6_K*)w, (BlockQ8_K*)a, n);
}
