namespace Whale.Gguf;

/// <summary>The parsed header of one GGUF file: metadata, tensor infos and where the data section starts.</summary>
internal sealed class GgufHeader
{
    public uint Version { get; init; }
    public uint Alignment { get; init; }
    public required Dictionary<string, GgufValue> Metadata { get; init; }
    public required List<GgufTensorInfo> Tensors { get; init; }
    /// <summary>Absolute file position of the data section.</summary>
    public long DataStart { get; init; }
}
