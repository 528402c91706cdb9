using System.Globalization;
using System.Text.RegularExpressions;

namespace Whale.Gguf;

/// <summary>
/// A GGUF file (or a set of split files) opened read-only: metadata, tensor infos, and tensor data
/// memory-mapped and used in place.
/// </summary>
/// <remarks>
/// <see cref="Open"/> validates the whole header (versions 2 and 3, little-endian only; value types; unique keys and
/// tensor names; known tensor types; tensor data inside the file) and throws <see cref="GgufException"/> with the
/// file path and the problem otherwise. Tensor data is never copied: <see cref="GetTensorData"/> points into the
/// mapping, which stays valid until <see cref="Dispose"/>. Not thread-safe against a concurrent Dispose.
/// </remarks>
public sealed unsafe partial class GgufFile : IDisposable
{
    private readonly GgufMappedShard[] _shards;
    private readonly Dictionary<string, GgufTensorInfo> _tensorsByName;
    private bool _disposed;

    private GgufFile(string path, GgufMappedShard[] shards, List<GgufTensorInfo> tensors)
    {
        Path = path;
        _shards = shards;
        var h = shards[0].Header;
        Version = h.Version;
        Alignment = h.Alignment;
        Metadata = h.Metadata;
        Tensors = tensors;
        _tensorsByName = new Dictionary<string, GgufTensorInfo>(tensors.Count, StringComparer.Ordinal);
        foreach (var t in tensors) _tensorsByName[t.Name] = t;
    }

    /// <summary>Opens a file; a name like <c>x-00001-of-00003.gguf</c> opens all shards.</summary>
    /// <remarks>
    /// Any shard of a split set may be named; all <c>MMMMM</c> shards are opened, metadata comes from the first, and
    /// tensors of every shard are listed in <see cref="Tensors"/> with <see cref="GgufTensorInfo.Shard"/> set (0-based).
    /// </remarks>
    /// <exception cref="GgufException">The file (or a shard) is missing, unreadable or malformed.</exception>
    public static GgufFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var m = SplitName().Match(System.IO.Path.GetFileName(path));
        if (!m.Success)
        {
            var shard = GgufMappedShard.Open(path, 0);
            try
            {
                if (shard.Header.Metadata.TryGetValue(SplitCountKey, out var sc) && TryInt(sc, out long n) && n > 1)
                    throw new GgufException($"{path}: file is shard of a {n}-file split (split.count = {n}) but its name does not " +
                                            "follow <prefix>-NNNNN-of-MMMMM.gguf, so the other shards cannot be found");
                return new GgufFile(path, [shard], shard.Header.Tensors);
            }
            catch
            {
                shard.Dispose();
                throw;
            }
        }
        return OpenSplit(path, m);
    }

    /// <summary>Metadata key of the 0-based shard index.</summary>
    public const string SplitNoKey = "split.no";
    /// <summary>Metadata key of the number of shards.</summary>
    public const string SplitCountKey = "split.count";
    /// <summary>Metadata key of the total tensor count over all shards.</summary>
    public const string SplitTensorsCountKey = "split.tensors.count";

    /// <summary>The path given to <see cref="Open"/>.</summary>
    public string Path { get; }
    /// <summary>GGUF version of the (first) file: 2 or 3.</summary>
    public uint Version { get; }
    /// <summary>Data alignment of the (first) file: <c>general.alignment</c> or 32.</summary>
    public uint Alignment { get; }
    /// <summary>All metadata of the (first) file, enumerated in file order.</summary>
    public IReadOnlyDictionary<string, GgufValue> Metadata { get; }
    /// <summary>All tensors in file order (shard by shard for split files).</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    /// <summary>Number of files (1 unless split).</summary>
    public int ShardCount => _shards.Length;

    /// <summary><c>general.architecture</c>, or null when absent.</summary>
    public string? Architecture => GetString("general.architecture");

    /// <summary>Looks up a metadata value of the (first) file without throwing.</summary>
    public bool TryGetValue(string key, out GgufValue value)
    {
        if (Metadata.TryGetValue(key, out var v)) { value = v; return true; }
        value = null!;
        return false;
    }

    /// <summary>Throws <see cref="GgufException"/> naming the key when it is missing.</summary>
    public GgufValue GetValue(string key) =>
        Metadata.TryGetValue(key, out var v) ? v : throw new GgufException($"{Path}: missing metadata key '{key}'");

    /// <summary>The string value of <paramref name="key"/>, or <paramref name="fallback"/> when absent; another type throws.</summary>
    public string? GetString(string key, string? fallback = null) =>
        Metadata.TryGetValue(key, out var v) ? Convert(key, v, x => x.AsString()) : fallback;

    /// <summary>Any integer type is accepted.</summary>
    public long GetInt64(string key, long fallback) =>
        Metadata.TryGetValue(key, out var v) ? Convert(key, v, x => x.AsInt64()) : fallback;

    /// <summary>Any integer type is accepted (range-checked); <paramref name="fallback"/> when absent.</summary>
    public int GetInt32(string key, int fallback) =>
        Metadata.TryGetValue(key, out var v) ? Convert(key, v, x => x.AsInt32()) : fallback;

    /// <summary>Float32, Float64 or integer value; <paramref name="fallback"/> when absent.</summary>
    public float GetSingle(string key, float fallback) =>
        Metadata.TryGetValue(key, out var v) ? Convert(key, v, x => x.AsSingle()) : fallback;

    /// <summary>Bool value (or integer 0/1); <paramref name="fallback"/> when absent.</summary>
    public bool GetBool(string key, bool fallback) =>
        Metadata.TryGetValue(key, out var v) ? Convert(key, v, x => x.AsBool()) : fallback;

    /// <summary>Looks up a tensor (of any shard) by name without throwing.</summary>
    public bool TryGetTensor(string name, out GgufTensorInfo info)
    {
        if (_tensorsByName.TryGetValue(name, out var t)) { info = t; return true; }
        info = null!;
        return false;
    }

    /// <summary>Throws <see cref="GgufException"/> "missing tensor 'name'".</summary>
    public GgufTensorInfo GetTensor(string name) =>
        _tensorsByName.TryGetValue(name, out var t) ? t : throw new GgufException($"{Path}: missing tensor '{name}'");

    /// <summary>Pointer to the first byte of the tensor in the mapping; valid until Dispose.</summary>
    /// <exception cref="ObjectDisposedException">The file was disposed.</exception>
    /// <exception cref="GgufException">The info's shard or byte range does not lie in this file.</exception>
    public byte* GetTensorData(GgufTensorInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)info.Shard >= (uint)_shards.Length)
            throw new GgufException($"{Path}: tensor '{info.Name}' names shard {info.Shard} but there are {_shards.Length}");
        var s = _shards[info.Shard];
        long start = s.Header.DataStart + info.Offset;
        long size = info.ByteSize;
        if (info.Offset < 0 || start < s.Header.DataStart || start > s.Length || size > s.Length - start)
            throw new GgufException($"{s.Path}: tensor '{info.Name}' data [{start}, {start + size}) is outside the file ({s.Length} bytes)");
        return s.Base + start;
    }

    /// <summary>The tensor bytes as a span (tensors over 2 GiB throw; use <see cref="GetTensorData"/>).</summary>
    public ReadOnlySpan<byte> GetTensorSpan(GgufTensorInfo info)
    {
        byte* p = GetTensorData(info);
        long size = info.ByteSize;
        if (size > int.MaxValue)
            throw new GgufException($"{Path}: tensor '{info.Name}' is {size} bytes, too large for a span; use GetTensorData");
        return new ReadOnlySpan<byte>(p, (int)size);
    }

    /// <summary>Unmaps and closes every file; pointers from <see cref="GetTensorData"/> become invalid.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _shards) s.Dispose();
    }

    [GeneratedRegex(@"^(?<prefix>.+)-(?<no>\d{5})-of-(?<count>\d{5})\.gguf$", RegexOptions.CultureInvariant)]
    private static partial Regex SplitName();

    /// <summary>The path of shard <paramref name="index"/> (0-based) of <paramref name="count"/> for a prefix.</summary>
    public static string SplitPath(string pathPrefix, int index, int count) =>
        string.Create(CultureInfo.InvariantCulture, $"{pathPrefix}-{index + 1:D5}-of-{count:D5}.gguf");

    private static GgufFile OpenSplit(string path, Match m)
    {
        int count = int.Parse(m.Groups["count"].Value, CultureInfo.InvariantCulture);
        int no = int.Parse(m.Groups["no"].Value, CultureInfo.InvariantCulture);
        if (count < 1 || no < 1 || no > count)
            throw new GgufException($"{path}: split file name says shard {no} of {count}");
        string dir = System.IO.Path.GetDirectoryName(path) ?? "";
        string prefix = System.IO.Path.Combine(dir, m.Groups["prefix"].Value);

        var shards = new List<GgufMappedShard>(count);
        try
        {
            var tensors = new List<GgufTensorInfo>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            long expectedTensors = -1;
            for (int i = 0; i < count; i++)
            {
                string p = SplitPath(prefix, i, count);
                if (!File.Exists(p))
                    throw new GgufException($"{path}: missing split shard {i + 1} of {count}: {p}");
                var s = GgufMappedShard.Open(p, i);
                shards.Add(s);
                var md = s.Header.Metadata;
                if (count == 1 && !md.ContainsKey(SplitCountKey))
                    return new GgufFile(path, [s], s.Header.Tensors); // a plain file named like a 1-shard split
                long sc = RequireSplitInt(p, md, SplitCountKey);
                if (sc != count)
                    throw new GgufException($"{p}: split.count is {sc} but the file name says {count} shards");
                if (md.TryGetValue(SplitNoKey, out var nv) && TryInt(nv, out long sn) && sn != i)
                    throw new GgufException($"{p}: split.no is {sn}, expected {i}");
                if (i == 0) expectedTensors = RequireSplitInt(p, md, SplitTensorsCountKey);
                foreach (var t in s.Header.Tensors)
                {
                    if (!names.Add(t.Name))
                        throw new GgufException($"{p}: tensor '{t.Name}' also appears in an earlier shard");
                    tensors.Add(t);
                }
            }
            if (tensors.Count != expectedTensors)
                throw new GgufException($"{path}: the {count} shards hold {tensors.Count} tensors but split.tensors.count is {expectedTensors}");
            return new GgufFile(path, [.. shards], tensors);
        }
        catch
        {
            foreach (var s in shards) s.Dispose();
            throw;
        }
    }

    private static long RequireSplitInt(string path, Dictionary<string, GgufValue> md, string key)
    {
        if (!md.TryGetValue(key, out var v))
            throw new GgufException($"{path}: split shard lacks metadata key '{key}'");
        if (!TryInt(v, out long n))
            throw new GgufException($"{path}: metadata key '{key}' is {v.Type}, expected an integer");
        return n;
    }

    private static bool TryInt(GgufValue v, out long n)
    {
        try { n = v.AsInt64(); return true; }
        catch (InvalidCastException) { n = 0; return false; }
    }

    private T Convert<T>(string key, GgufValue v, Func<GgufValue, T> f)
    {
        try { return f(v); }
        catch (InvalidCastException e) { throw new GgufException($"{Path}: metadata key '{key}': {e.Message}", e); }
    }
}
