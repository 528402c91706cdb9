using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;

namespace Whale.Gguf;

/// <summary>Writes GGUF v3 files: metadata in insertion order, tensors aligned to <see cref="Alignment"/>.</summary>
/// <remarks>
/// Tensors are written in insertion order, each at an offset that is a multiple of <see cref="Alignment"/>, with
/// zero padding after every tensor. When <see cref="Alignment"/> is not 32, <c>general.alignment</c> (UInt32) is
/// written too (setting that key through <see cref="Set"/> changes <see cref="Alignment"/>). Tensor data is kept by
/// reference (<see cref="ReadOnlyMemory{T}"/>) and streamed out; the writer never builds the whole file in memory.
/// </remarks>
public sealed class GgufWriter
{
    private const string AlignmentKey = "general.alignment";
    private const int MaxNameBytes = 63; // GGML_MAX_NAME - 1

    private readonly List<KeyValuePair<string, GgufValue>> _kv = [];
    private readonly Dictionary<string, int> _kvIndex = new(StringComparer.Ordinal);
    private readonly List<Tensor> _tensors = [];
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);
    private uint _alignment = GgufParser.DefaultAlignment;

    private sealed record Tensor(string Name, GgmlType Type, long[] Shape, ReadOnlyMemory<byte> Data);

    /// <summary>Data alignment in bytes: a nonzero power of two (default 32).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a power of two.</exception>
    public uint Alignment
    {
        get => _alignment;
        set
        {
            if (value == 0 || !BitOperations.IsPow2(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, "GGUF alignment must be a nonzero power of two");
            _alignment = value;
        }
    }

    /// <summary>Number of metadata entries set so far.</summary>
    public int MetadataCount => _kv.Count;
    /// <summary>Number of tensors added so far.</summary>
    public int TensorCount => _tensors.Count;

    /// <summary>Adds or replaces a metadata value.</summary>
    /// <remarks>A replaced key keeps its position. Setting <c>general.alignment</c> also sets <see cref="Alignment"/>.</remarks>
    public void Set(string key, GgufValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (key == AlignmentKey)
        {
            long a;
            try { a = value.AsInt64(); }
            catch (InvalidCastException e) { throw new ArgumentException($"{AlignmentKey} must be an integer: {e.Message}", nameof(value), e); }
            if (a is <= 0 or > uint.MaxValue) throw new ArgumentOutOfRangeException(nameof(value), a, "GGUF alignment must be a nonzero power of two");
            Alignment = (uint)a;
        }
        if (_kvIndex.TryGetValue(key, out int i)) _kv[i] = new(key, value);
        else
        {
            _kvIndex[key] = _kv.Count;
            _kv.Add(new(key, value));
        }
    }

    /// <summary>Adds or replaces a String value.</summary>
    public void SetString(string key, string value) => Set(key, GgufValue.FromString(value));
    /// <summary>Adds or replaces a UInt32 value.</summary>
    public void SetUInt32(string key, uint value) => Set(key, GgufValue.FromUInt32(value));
    /// <summary>Adds or replaces a Float32 value.</summary>
    public void SetFloat32(string key, float value) => Set(key, GgufValue.FromFloat32(value));
    /// <summary>Adds or replaces a Bool value.</summary>
    public void SetBool(string key, bool value) => Set(key, GgufValue.FromBool(value));
    /// <summary>Adds or replaces a Int32 value.</summary>
    public void SetInt32(string key, int value) => Set(key, GgufValue.FromInt32(value));
    /// <summary>Adds or replaces a UInt64 value.</summary>
    public void SetUInt64(string key, ulong value) => Set(key, GgufValue.FromUInt64(value));
    /// <summary>Adds or replaces a Int64 value.</summary>
    public void SetInt64(string key, long value) => Set(key, GgufValue.FromInt64(value));
    /// <summary>Adds or replaces a Float64 value.</summary>
    public void SetFloat64(string key, double value) => Set(key, GgufValue.FromFloat64(value));

    /// <summary>Adds a tensor; shape is ne (innermost first); data must be exactly the tensor's byte size.</summary>
    /// <remarks>The data is not copied: keep it unchanged until the file is written.</remarks>
    /// <exception cref="ArgumentException">Duplicate or too long name, bad shape, unknown type, or wrong data length.</exception>
    public void AddTensor(string name, GgmlType type, long[] shape, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (Encoding.UTF8.GetByteCount(name) > MaxNameBytes)
            throw new ArgumentException($"tensor name '{name}' is longer than {MaxNameBytes} bytes", nameof(name));
        if (_tensorNames.Contains(name))
            throw new ArgumentException($"duplicate tensor name '{name}'", nameof(name));
        if (!GgmlTypeTraits.IsKnown(type))
            throw new ArgumentException($"unknown tensor type {(uint)type} for tensor '{name}'", nameof(type));
        if (shape.Length is 0 or > GgufParser.MaxDims)
            throw new ArgumentException($"tensor '{name}' has {shape.Length} dimensions (must be 1..{GgufParser.MaxDims})", nameof(shape));
        foreach (long d in shape)
            if (d <= 0) throw new ArgumentException($"tensor '{name}' has dimension {d} (must be >= 1)", nameof(shape));
        int block = GgmlTypeTraits.BlockSize(type);
        if (shape[0] % block != 0)
            throw new ArgumentException($"tensor '{name}': ne[0] = {shape[0]} is not a multiple of the {type} block size {block}", nameof(shape));
        var info = new GgufTensorInfo(name, type, (long[])shape.Clone(), 0);
        long size;
        try { size = checked(GgmlTypeTraits.RowBytes(type, shape[0]) * (info.ElementCount / shape[0])); }
        catch (OverflowException e) { throw new ArgumentException($"tensor '{name}' is too large", nameof(shape), e); }
        if (data.Length != size)
            throw new ArgumentException($"tensor '{name}' ({type} [{string.Join(", ", shape)}]) needs {size} bytes, got {data.Length}", nameof(data));
        _tensorNames.Add(name);
        _tensors.Add(new Tensor(name, type, info.Shape, data));
    }

    /// <summary>Writes the file (created or overwritten); a partly written file is deleted on failure.</summary>
    public void Write(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            Write(fs);
        }
        catch
        {
            try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Writes the file to <paramref name="stream"/> from its current position (the stream need not be seekable).</summary>
    public void Write(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        WriteCore(stream, EffectiveMetadata(_kv), _tensors);
    }

    /// <summary>Writes <c>prefix-0000i-of-0000n.gguf</c> shards of at most maxTensorsPerShard tensors; returns the paths.</summary>
    /// <remarks>
    /// Like llama.cpp's gguf-split: the first shard holds all metadata, every shard holds <c>split.no</c> (UInt16,
    /// 0-based), <c>split.count</c> (UInt16) and <c>split.tensors.count</c> (Int32), and its own tensor infos and
    /// data. With no tensors one shard is written. Shards already written are deleted if a later one fails.
    /// </remarks>
    public IReadOnlyList<string> WriteSplit(string pathPrefix, int maxTensorsPerShard)
    {
        ArgumentNullException.ThrowIfNull(pathPrefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTensorsPerShard, 1);
        int count = Math.Max(1, (_tensors.Count + maxTensorsPerShard - 1) / maxTensorsPerShard);
        if (count > ushort.MaxValue || count > 99999)
            throw new ArgumentOutOfRangeException(nameof(maxTensorsPerShard), $"{count} shards is too many");
        var paths = new List<string>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                var kv = i == 0 ? new List<KeyValuePair<string, GgufValue>>(_kv) : [];
                SetIn(kv, GgufFile.SplitNoKey, GgufValue.FromUInt16((ushort)i));
                SetIn(kv, GgufFile.SplitCountKey, GgufValue.FromUInt16((ushort)count));
                SetIn(kv, GgufFile.SplitTensorsCountKey, GgufValue.FromInt32(_tensors.Count));
                string path = GgufFile.SplitPath(pathPrefix, i, count);
                paths.Add(path);
                using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
                var part = _tensors.Skip(i * maxTensorsPerShard).Take(maxTensorsPerShard).ToList();
                WriteCore(fs, EffectiveMetadata(kv), part);
            }
        }
        catch
        {
            foreach (var p in paths)
                try { File.Delete(p); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
        return paths;
    }

    private static void SetIn(List<KeyValuePair<string, GgufValue>> kv, string key, GgufValue value)
    {
        int i = kv.FindIndex(p => p.Key == key);
        if (i >= 0) kv[i] = new(key, value);
        else kv.Add(new(key, value));
    }

    /// <summary>The metadata to write: general.alignment made consistent with <see cref="Alignment"/>.</summary>
    private List<KeyValuePair<string, GgufValue>> EffectiveMetadata(List<KeyValuePair<string, GgufValue>> kv)
    {
        var result = new List<KeyValuePair<string, GgufValue>>(kv);
        int i = result.FindIndex(p => p.Key == AlignmentKey);
        if (i >= 0) result[i] = new(AlignmentKey, GgufValue.FromUInt32(_alignment));
        else if (_alignment != GgufParser.DefaultAlignment) result.Add(new(AlignmentKey, GgufValue.FromUInt32(_alignment)));
        return result;
    }

    private void WriteCore(Stream stream, List<KeyValuePair<string, GgufValue>> kv, List<Tensor> tensors)
    {
        // Header, metadata and tensor infos are small next to the data: build them in memory, then stream tensors.
        var h = new HeaderBuilder();
        h.U32(GgufParser.Magic);
        h.U32(3);
        h.U64((ulong)tensors.Count);
        h.U64((ulong)kv.Count);
        foreach (var (key, value) in kv)
        {
            h.String(key);
            h.U32((uint)value.Type);
            WriteValue(h, value);
        }
        long offset = 0;
        foreach (var t in tensors)
        {
            h.String(t.Name);
            h.U32((uint)t.Shape.Length);
            foreach (long d in t.Shape) h.U64((ulong)d);
            h.U32((uint)t.Type);
            h.U64((ulong)offset);
            offset = GgufParser.AlignUp(offset + t.Data.Length, _alignment);
        }
        long headerLen = h.Length;
        h.Pad(GgufParser.AlignUp(headerLen, _alignment) - headerLen);
        h.CopyTo(stream);

        Span<byte> zeros = stackalloc byte[256];
        zeros.Clear();
        foreach (var t in tensors)
        {
            stream.Write(t.Data.Span);
            long pad = GgufParser.AlignUp(t.Data.Length, _alignment) - t.Data.Length;
            while (pad > 0)
            {
                int n = (int)Math.Min(pad, zeros.Length);
                stream.Write(zeros[..n]);
                pad -= n;
            }
        }
        stream.Flush();
    }

    private static void WriteValue(HeaderBuilder h, GgufValue v)
    {
        if (v.Type != GgufValueType.Array)
        {
            WriteScalar(h, v.Type, v.Value);
            return;
        }
        var a = (Array)v.Value;
        h.U32((uint)v.ElementType);
        h.U64((ulong)a.Length);
        switch (a)
        {
            case string[] s: foreach (var x in s) h.String(x); break;
            case bool[] b: foreach (var x in b) h.Bytes([x ? (byte)1 : (byte)0]); break;
            case byte[] x: h.Bytes(x); break;
            case sbyte[] x: h.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case ushort[] x: h.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case short[] x: h.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case uint[] x: h.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case int[] x: h.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case float[] x: h.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case ulong[] x: h.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case long[] x: h.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case double[] x: h.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            default: throw new InvalidOperationException($"cannot write a GGUF array of {a.GetType().Name}");
        }
    }

    private static void WriteScalar(HeaderBuilder h, GgufValueType type, object value)
    {
        switch (value)
        {
            case string s: h.String(s); break;
            case bool b: h.Bytes([b ? (byte)1 : (byte)0]); break;
            case byte x: h.Bytes([x]); break;
            case sbyte x: h.Bytes([(byte)x]); break;
            case ushort x: h.Raw(x); break;
            case short x: h.Raw(x); break;
            case uint x: h.Raw(x); break;
            case int x: h.Raw(x); break;
            case float x: h.Raw(x); break;
            case ulong x: h.Raw(x); break;
            case long x: h.Raw(x); break;
            case double x: h.Raw(x); break;
            default: throw new InvalidOperationException($"cannot write a GGUF {type} from {value.GetType().Name}");
        }
    }

    /// <summary>A growable little-endian byte buffer for the header part of a file.</summary>
    private sealed class HeaderBuilder
    {
        private byte[] _buf = new byte[4096];
        public int Length { get; private set; }

        private Span<byte> Grow(int n)
        {
            if (Length + n > _buf.Length)
                Array.Resize(ref _buf, (int)Math.Min(Array.MaxLength, Math.Max((long)_buf.Length * 2, (long)Length + n)));
            var s = _buf.AsSpan(Length, n);
            Length += n;
            return s;
        }

        public void Bytes(ReadOnlySpan<byte> b) => b.CopyTo(Grow(b.Length));
        public void Raw<T>(T v) where T : unmanaged => MemoryMarshal.Write(Grow(System.Runtime.CompilerServices.Unsafe.SizeOf<T>()), in v);
        public void U32(uint v) => BinaryPrimitives.WriteUInt32LittleEndian(Grow(4), v);
        public void U64(ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(Grow(8), v);
        public void Pad(long n) => Grow((int)n).Clear();

        public void String(string s)
        {
            int n = Encoding.UTF8.GetByteCount(s);
            U64((ulong)n);
            Encoding.UTF8.GetBytes(s, Grow(n));
        }

        public void CopyTo(Stream s) => s.Write(_buf, 0, Length);
    }
}
