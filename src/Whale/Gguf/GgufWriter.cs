namespace Whale.Gguf;

/// <summary>Writes GGUF v3 files: metadata in insertion order, tensors aligned to <see cref="Alignment"/>.</summary>
/// <remarks>STUB: signatures fixed, implementation owned by the GGUF work.</remarks>
public sealed class GgufWriter
{
    public uint Alignment { get; set; } = 32;
    /// <summary>Adds or replaces a metadata value.</summary>
    public void Set(string key, GgufValue value) => throw new NotImplementedException();
    public void SetString(string key, string value) => Set(key, GgufValue.FromString(value));
    public void SetUInt32(string key, uint value) => Set(key, GgufValue.FromUInt32(value));
    public void SetFloat32(string key, float value) => Set(key, GgufValue.FromFloat32(value));
    public void SetBool(string key, bool value) => Set(key, GgufValue.FromBool(value));
    /// <summary>Adds a tensor; shape is ne (innermost first); data must be exactly the tensor's byte size.</summary>
    public void AddTensor(string name, GgmlType type, long[] shape, ReadOnlyMemory<byte> data) => throw new NotImplementedException();
    public void Write(string path) => throw new NotImplementedException();
    public void Write(Stream stream) => throw new NotImplementedException();
    /// <summary>Writes <c>prefix-0000i-of-0000n.gguf</c> shards of at most maxTensorsPerShard tensors; returns the paths.</summary>
    public IReadOnlyList<string> WriteSplit(string pathPrefix, int maxTensorsPerShard) => throw new NotImplementedException();
}
