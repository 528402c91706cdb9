namespace Whale.Gguf;

/// <summary>One metadata value: a scalar, a string, or an array of one element type.</summary>
/// <remarks>STUB: signatures fixed, implementation owned by the GGUF work.</remarks>
public sealed class GgufValue
{
    public GgufValue(GgufValueType type, object value, GgufValueType elementType = GgufValueType.UInt8)
    {
        Type = type; Value = value; ElementType = elementType;
    }

    /// <summary>Type of the value.</summary>
    public GgufValueType Type { get; }

    /// <summary>Element type when <see cref="Type"/> is Array.</summary>
    public GgufValueType ElementType { get; }

    /// <summary>The boxed scalar, the string, or a typed array (string[], int[], uint[], float[], byte[], ...).</summary>
    public object Value { get; }

    public long AsInt64() => throw new NotImplementedException();
    public int AsInt32() => throw new NotImplementedException();
    public uint AsUInt32() => throw new NotImplementedException();
    public float AsSingle() => throw new NotImplementedException();
    public bool AsBool() => throw new NotImplementedException();
    public string AsString() => throw new NotImplementedException();
    public string[] AsStringArray() => throw new NotImplementedException();
    public int[] AsInt32Array() => throw new NotImplementedException();
    public float[] AsSingleArray() => throw new NotImplementedException();
    /// <summary>Number of elements of an array value.</summary>
    public int ArrayLength => throw new NotImplementedException();

    public static GgufValue FromString(string v) => new(GgufValueType.String, v);
    public static GgufValue FromUInt32(uint v) => new(GgufValueType.UInt32, v);
    public static GgufValue FromInt32(int v) => new(GgufValueType.Int32, v);
    public static GgufValue FromFloat32(float v) => new(GgufValueType.Float32, v);
    public static GgufValue FromBool(bool v) => new(GgufValueType.Bool, v);
    public static GgufValue FromStringArray(string[] v) => new(GgufValueType.Array, v, GgufValueType.String);
    public static GgufValue FromInt32Array(int[] v) => new(GgufValueType.Array, v, GgufValueType.Int32);
    public static GgufValue FromFloat32Array(float[] v) => new(GgufValueType.Array, v, GgufValueType.Float32);
}
