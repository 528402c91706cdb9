namespace Whale.Gguf;

/// <summary>A tensor record of a GGUF file: name, type, shape (ne, innermost first) and where its bytes are.</summary>
public sealed class GgufTensorInfo
{
    /// <summary>Creates a record; the reader validates shapes and types, this constructor does not.</summary>
    public GgufTensorInfo(string name, GgmlType type, long[] shape, long offset, int shard = 0)
    {
        Name = name; Type = type; Shape = shape; Offset = offset; Shard = shard;
    }

    public string Name { get; }
    public GgmlType Type { get; }
    /// <summary>ne[0..n_dims): ne[0] is the contiguous (innermost) dimension, i.e. the row length.</summary>
    public long[] Shape { get; }
    /// <summary>Offset of the data relative to the shard's data section.</summary>
    public long Offset { get; }
    /// <summary>Index of the split file holding the data (0 for single files).</summary>
    public int Shard { get; }
    public long ElementCount { get { long n = 1; foreach (var d in Shape) n *= d; return n; } }
    public long ByteSize => GgmlTypeTraits.RowBytes(Type, Shape[0]) * (ElementCount / Shape[0]);
    /// <summary>ne[i], or 1 past the stored dimensions.</summary>
    public long Dim(int i) => i < Shape.Length ? Shape[i] : 1;

    /// <summary>"name type [ne0, ne1, ...]" for messages and logs.</summary>
    public override string ToString() => $"{Name} {Type} [{string.Join(", ", Shape)}]";
}
