using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;

namespace Whale.Gguf;

/// <summary>
/// Parses and validates a GGUF header held in memory (the mapping). Every read is bounds-checked against the
/// length, and every count or length is checked against the bytes left before anything is allocated, so malformed
/// input ends in a <see cref="GgufException"/> naming the file, never another exception or a hang.
/// </summary>
internal static unsafe class GgufParser
{
    /// <summary>The 4 magic bytes "GGUF" read as a little-endian u32.</summary>
    public const uint Magic = 0x46554747;
    public const uint DefaultAlignment = 32;
    public const int MaxDims = 4;

    /// <summary>Parses <paramref name="length"/> bytes at <paramref name="data"/>; <paramref name="path"/> is used in messages.</summary>
    public static GgufHeader Parse(byte* data, long length, string path, int shard = 0)
    {
        if (length == 0) throw new GgufException($"{path}: file is empty (0 bytes), not a GGUF file");
        var r = new Reader(data, length, path);
        if (length < 4) throw r.Error($"file is only {length} bytes, too small for a GGUF header (truncated?)");
        uint magic = r.U32("magic");
        if (magic != Magic)
        {
            string text = new(Encoding.ASCII.GetString(data, 4).Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());
            throw r.Error($"not a GGUF file: magic is \"{text}\" (0x{magic:X8}), expected \"GGUF\"");
        }
        uint version = r.U32("version");
        if (version != 0 && (version & 0xFFFF) == 0)
            throw r.Error($"byte-swapped (big-endian) GGUF file (version reads as 0x{version:X8}); only little-endian files are supported");
        if (version == 1) throw r.Error("GGUF version 1 is not supported (too old; re-convert the model)");
        if (version is 0 or > 3) throw r.Error($"unsupported GGUF version {version} (supported: 2 and 3)");

        long nTensors = r.Count("tensor count", 8 + 4 + 8 + 4 + 8);
        long nKv = r.Count("metadata count", 8 + 4 + 1);

        var metadata = new Dictionary<string, GgufValue>((int)Math.Min(nKv, 4096), StringComparer.Ordinal);
        for (long i = 0; i < nKv; i++)
        {
            long at = r.Pos;
            string key = r.String("metadata key");
            var type = (GgufValueType)r.U32($"type of metadata key '{key}'");
            var value = ReadValue(ref r, key, type);
            if (!metadata.TryAdd(key, value))
                throw r.Error($"duplicate metadata key '{key}' (second occurrence at offset {at})");
        }

        uint alignment = DefaultAlignment;
        if (metadata.TryGetValue("general.alignment", out var av))
        {
            long a;
            try { a = av.AsInt64(); }
            catch (InvalidCastException e) { throw new GgufException($"{path}: general.alignment: {e.Message}", e); }
            if (a <= 0 || a > uint.MaxValue || !BitOperations.IsPow2(a))
                throw r.Error($"invalid general.alignment {a} (must be a nonzero power of two)");
            alignment = (uint)a;
        }

        var tensors = new List<GgufTensorInfo>((int)Math.Min(nTensors, 65536));
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < nTensors; i++)
        {
            string name = r.String($"name of tensor {i}");
            if (!names.Add(name)) throw r.Error($"duplicate tensor name '{name}'");
            uint nDims = r.U32($"n_dims of tensor '{name}'");
            if (nDims is 0 or > MaxDims)
                throw r.Error($"tensor '{name}' has {nDims} dimensions (must be 1..{MaxDims})");
            var shape = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++)
            {
                ulong ne = r.U64($"dimension {d} of tensor '{name}'");
                if (ne == 0 || ne > long.MaxValue)
                    throw r.Error($"tensor '{name}' dimension {d} is {ne} (must be >= 1)");
                shape[d] = (long)ne;
                if (elements > long.MaxValue / shape[d])
                    throw r.Error($"tensor '{name}' has too many elements (shape [{string.Join(", ", shape.Take(d + 1))}] overflows)");
                elements *= shape[d];
            }
            uint typeId = r.U32($"type of tensor '{name}'");
            var type = (GgmlType)typeId;
            if (!GgmlTypeTraits.IsKnown(type))
                throw r.Error($"unknown tensor type {typeId} for tensor '{name}'");
            int block = GgmlTypeTraits.BlockSize(type);
            if (shape[0] % block != 0)
                throw r.Error($"tensor '{name}' of type {type} has ne[0] = {shape[0]}, not a multiple of the block size {block}");
            ulong offset = r.U64($"data offset of tensor '{name}'");
            if (offset > long.MaxValue || offset % alignment != 0)
                throw r.Error($"tensor '{name}' data offset {offset} is not a multiple of the alignment {alignment}");
            // bytes = elements / block * blockBytes, checked for overflow
            long blocks = elements / block;
            if (blocks > long.MaxValue / GgmlTypeTraits.BlockBytes(type))
                throw r.Error($"tensor '{name}' is too large");
            tensors.Add(new GgufTensorInfo(name, type, shape, (long)offset, shard));
        }

        long dataStart = AlignUp(r.Pos, alignment);
        foreach (var t in tensors)
        {
            long size = t.ByteSize;
            long begin = dataStart + t.Offset;
            if (begin < dataStart || begin > length || size > length - begin)
            {
                UInt128 a = (UInt128)(ulong)dataStart + (ulong)t.Offset, b = a + (ulong)size;
                throw r.Error($"tensor '{t.Name}' data [{a}, {b}) is past the end of the file ({length} bytes) - the file is truncated or corrupt");
            }
        }

        return new GgufHeader
        {
            Version = version, Alignment = alignment, Metadata = metadata, Tensors = tensors, DataStart = dataStart,
        };
    }

    /// <summary>align_up(x, n) for a power-of-two n.</summary>
    public static long AlignUp(long x, long n) => (x + n - 1) / n * n;

    private static GgufValue ReadValue(ref Reader r, string key, GgufValueType type)
    {
        switch (type)
        {
            case GgufValueType.UInt8: return new(type, r.Bytes(1, key)[0]);
            case GgufValueType.Int8: return new(type, (sbyte)r.Bytes(1, key)[0]);
            case GgufValueType.UInt16: return new(type, r.Read<ushort>(key));
            case GgufValueType.Int16: return new(type, r.Read<short>(key));
            case GgufValueType.UInt32: return new(type, r.Read<uint>(key));
            case GgufValueType.Int32: return new(type, r.Read<int>(key));
            case GgufValueType.Float32: return new(type, r.Read<float>(key));
            case GgufValueType.Bool: return new(type, r.Bytes(1, key)[0] != 0);
            case GgufValueType.String: return new(type, r.String($"value of key '{key}'"));
            case GgufValueType.UInt64: return new(type, r.Read<ulong>(key));
            case GgufValueType.Int64: return new(type, r.Read<long>(key));
            case GgufValueType.Float64: return new(type, r.Read<double>(key));
            case GgufValueType.Array:
                var et = (GgufValueType)r.U32($"array element type of key '{key}'");
                if (et == GgufValueType.Array) throw r.Error($"nested arrays are not supported (key '{key}')");
                int elemSize = et switch
                {
                    GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
                    GgufValueType.UInt16 or GgufValueType.Int16 => 2,
                    GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
                    GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
                    GgufValueType.String => 8, // at least the length prefix
                    _ => throw r.Error($"unknown array element type {(uint)et} for key '{key}'"),
                };
                ulong count = r.U64($"array length of key '{key}'");
                if (count > int.MaxValue || (long)count * elemSize > r.Remaining)
                    throw r.Error($"array length {count} of key '{key}' exceeds the {r.Remaining} bytes left (truncated or corrupt)");
                int n = (int)count;
                Array arr = et switch
                {
                    GgufValueType.UInt8 => r.ReadArray<byte>(n, key),
                    GgufValueType.Int8 => r.ReadArray<sbyte>(n, key),
                    GgufValueType.UInt16 => r.ReadArray<ushort>(n, key),
                    GgufValueType.Int16 => r.ReadArray<short>(n, key),
                    GgufValueType.UInt32 => r.ReadArray<uint>(n, key),
                    GgufValueType.Int32 => r.ReadArray<int>(n, key),
                    GgufValueType.Float32 => r.ReadArray<float>(n, key),
                    GgufValueType.UInt64 => r.ReadArray<ulong>(n, key),
                    GgufValueType.Int64 => r.ReadArray<long>(n, key),
                    GgufValueType.Float64 => r.ReadArray<double>(n, key),
                    GgufValueType.Bool => r.ReadArray<byte>(n, key).Select(b => b != 0).ToArray(),
                    _ => ReadStrings(ref r, n, key),
                };
                return new(GgufValueType.Array, arr, et);
            default:
                throw r.Error($"unknown metadata value type {(uint)type} for key '{key}'");
        }
    }

    private static string[] ReadStrings(ref Reader r, int n, string key)
    {
        var a = new string[n];
        for (int i = 0; i < n; i++) a[i] = r.String($"element {i} of key '{key}'");
        return a;
    }

    /// <summary>A bounds-checked little-endian cursor over the mapped bytes.</summary>
    private ref struct Reader(byte* data, long length, string path)
    {
        private readonly byte* _data = data;
        private readonly long _length = length;
        private readonly string _path = path;
        public long Pos;

        public readonly long Remaining => _length - Pos;

        public readonly GgufException Error(string problem) => new($"{_path}: {problem}");

        public ReadOnlySpan<byte> Bytes(long n, string what)
        {
            if (n < 0 || n > Remaining)
                throw Error($"file truncated reading {what} at offset {Pos}: need {n} bytes, {Remaining} left");
            var s = new ReadOnlySpan<byte>(_data + Pos, (int)n);
            Pos += n;
            return s;
        }

        public T Read<T>(string what) where T : unmanaged => MemoryMarshal.Read<T>(Bytes(sizeof(T), what));

        public T[] ReadArray<T>(int n, string what) where T : unmanaged
        {
            var src = Bytes((long)n * sizeof(T), what);
            var a = new T[n];
            src.CopyTo(MemoryMarshal.AsBytes(a.AsSpan()));
            return a;
        }

        public uint U32(string what) => Read<uint>(what);
        public ulong U64(string what) => Read<ulong>(what);

        /// <summary>A u64 count whose items need at least <paramref name="minItemBytes"/> bytes each.</summary>
        public long Count(string what, int minItemBytes)
        {
            ulong c = U64(what);
            if (c > long.MaxValue) throw Error($"{what} {(long)c} is negative");
            if (c > (ulong)(Remaining / minItemBytes))
                throw Error($"{what} {c} cannot fit in the {Remaining} bytes left (truncated or corrupt file)");
            return (long)c;
        }

        public string String(string what)
        {
            ulong len = U64($"length of {what}");
            if (len > (ulong)Remaining)
                throw Error($"file truncated or corrupt: {what} at offset {Pos - 8} has length {len} but only {Remaining} bytes are left");
            if (len > int.MaxValue) throw Error($"{what} is too long ({len} bytes)");
            return Encoding.UTF8.GetString(Bytes((long)len, what));
        }
    }
}
