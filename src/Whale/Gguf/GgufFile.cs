namespace Whale.Gguf;

/// <summary>
/// A GGUF file (or a set of split files) opened read-only: metadata, tensor infos, and tensor data
/// memory-mapped and used in place.
/// </summary>
/// <remarks>STUB: signatures fixed, implementation owned by the GGUF work.</remarks>
public sealed unsafe class GgufFile : IDisposable
{
    private GgufFile() { }

    /// <summary>Opens a file; a name like <c>x-00001-of-00003.gguf</c> opens all shards.</summary>
    public static GgufFile Open(string path) => throw new NotImplementedException();

    public string Path { get; } = "";
    public uint Version { get; }
    public uint Alignment { get; }
    public IReadOnlyDictionary<string, GgufValue> Metadata { get; } = new Dictionary<string, GgufValue>();
    public IReadOnlyList<GgufTensorInfo> Tensors { get; } = [];

    /// <summary><c>general.architecture</c>, or null when absent.</summary>
    public string? Architecture => throw new NotImplementedException();

    public bool TryGetValue(string key, out GgufValue value) => throw new NotImplementedException();
    /// <summary>Throws <see cref="GgufException"/> naming the key when it is missing.</summary>
    public GgufValue GetValue(string key) => throw new NotImplementedException();
    public string? GetString(string key, string? fallback = null) => throw new NotImplementedException();
    /// <summary>Any integer type is accepted.</summary>
    public long GetInt64(string key, long fallback) => throw new NotImplementedException();
    public int GetInt32(string key, int fallback) => throw new NotImplementedException();
    public float GetSingle(string key, float fallback) => throw new NotImplementedException();
    public bool GetBool(string key, bool fallback) => throw new NotImplementedException();

    public bool TryGetTensor(string name, out GgufTensorInfo info) => throw new NotImplementedException();
    /// <summary>Throws <see cref="GgufException"/> "missing tensor 'name'".</summary>
    public GgufTensorInfo GetTensor(string name) => throw new NotImplementedException();
    /// <summary>Pointer to the first byte of the tensor in the mapping; valid until Dispose.</summary>
    public byte* GetTensorData(GgufTensorInfo info) => throw new NotImplementedException();
    /// <summary>The tensor bytes as a span (tensors over 2 GiB throw; use <see cref="GetTensorData"/>).</summary>
    public ReadOnlySpan<byte> GetTensorSpan(GgufTensorInfo info) => throw new NotImplementedException();

    public void Dispose() { }
}
