using Whale.Gguf;

namespace Whale.Tests.Gguf;

public sealed class GgufValueTests
{
    [Fact]
    public void IntegerAccessorsAcceptEveryIntegerType()
    {
        Assert.Equal(200, GgufValue.FromUInt8(200).AsInt32());
        Assert.Equal(-5, GgufValue.FromInt8(-5).AsInt64());
        Assert.Equal(60000u, GgufValue.FromUInt16(60000).AsUInt32());
        Assert.Equal(-300, GgufValue.FromInt16(-300).AsInt32());
        Assert.Equal(7, GgufValue.FromUInt64(7).AsInt32());
        Assert.Equal(7u, GgufValue.FromInt64(7).AsUInt32());
        Assert.Equal(4_000_000_000L, GgufValue.FromUInt32(4_000_000_000).AsInt64());
        Assert.Equal(3f, GgufValue.FromUInt32(3).AsSingle());
    }

    [Fact]
    public void IntegerAccessorsAreRangeChecked()
    {
        var e = Assert.Throws<InvalidCastException>(() => GgufValue.FromUInt32(4_000_000_000).AsInt32());
        Assert.Contains("out of range", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidCastException>(() => GgufValue.FromInt32(-1).AsUInt32());
        Assert.Throws<InvalidCastException>(() => GgufValue.FromUInt64(ulong.MaxValue).AsInt64());
        Assert.Throws<InvalidCastException>(() => GgufValue.FromInt64(long.MaxValue).AsInt32());
    }

    [Fact]
    public void MismatchesNameTheActualType()
    {
        var e = Assert.Throws<InvalidCastException>(() => GgufValue.FromString("x").AsInt32());
        Assert.Contains("String", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<InvalidCastException>(() => GgufValue.FromFloat32(1f).AsInt64());
        Assert.Contains("Float32", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<InvalidCastException>(() => GgufValue.FromInt32Array([1]).AsStringArray());
        Assert.Contains("Array of Int32", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidCastException>(() => GgufValue.FromUInt32(1).AsString());
        Assert.Throws<InvalidCastException>(() => GgufValue.FromString("1").AsBool());
        Assert.Throws<InvalidCastException>(() => GgufValue.FromStringArray(["a"]).AsInt32Array());
        Assert.Throws<InvalidCastException>(() => GgufValue.FromStringArray(["a"]).AsSingleArray());
        Assert.Throws<InvalidCastException>(() => GgufValue.FromUInt32(1).ArrayLength);
        Assert.Throws<InvalidCastException>(() => GgufValue.FromBool(true).AsSingle());
    }

    [Fact]
    public void FloatAndBoolAccessors()
    {
        Assert.Equal(0.25f, GgufValue.FromFloat32(0.25f).AsSingle());
        Assert.Equal(0.1f, GgufValue.FromFloat64(0.1).AsSingle());
        Assert.True(GgufValue.FromBool(true).AsBool());
        Assert.True(GgufValue.FromUInt8(1).AsBool());
        Assert.False(GgufValue.FromInt32(0).AsBool());
        Assert.Throws<InvalidCastException>(() => GgufValue.FromInt32(2).AsBool());
    }

    [Fact]
    public void ArrayAccessorsConvert()
    {
        var u = GgufValue.FromArray(GgufValueType.UInt32, new uint[] { 1, 2, 3 });
        Assert.Equal(new[] { 1, 2, 3 }, u.AsInt32Array());
        Assert.Equal(new[] { 1f, 2f, 3f }, u.AsSingleArray());
        Assert.Equal(3, u.ArrayLength);
        Assert.Throws<InvalidCastException>(() => GgufValue.FromArray(GgufValueType.UInt32, new uint[] { uint.MaxValue }).AsInt32Array());
        Assert.Equal(new[] { -1, 5 }, GgufValue.FromArray(GgufValueType.Int64, new long[] { -1, 5 }).AsInt32Array());
        Assert.Equal(new[] { 1, 2 }, GgufValue.FromArray(GgufValueType.Int16, new short[] { 1, 2 }).AsInt32Array());
        Assert.Equal(new[] { 0.5f }, GgufValue.FromArray(GgufValueType.Float64, new[] { 0.5 }).AsSingleArray());
        // element type decides, not CLR array covariance (a uint[] or sbyte[] must not be reinterpreted)
        Assert.Equal(new[] { -1, 127 }, GgufValue.FromArray(GgufValueType.Int8, new sbyte[] { -1, 127 }).AsInt32Array());
        Assert.Equal(new[] { 255 }, GgufValue.FromArray(GgufValueType.UInt8, new byte[] { 255 }).AsInt32Array());
        Assert.Equal(new[] { 65535f }, GgufValue.FromArray(GgufValueType.UInt16, new ushort[] { 65535 }).AsSingleArray());
        Assert.Throws<InvalidCastException>(() => GgufValue.FromArray(GgufValueType.UInt64, new ulong[] { ulong.MaxValue }).AsInt32Array());
        var ints = new[] { 4, 5 };
        Assert.Same(ints, GgufValue.FromInt32Array(ints).AsInt32Array());
    }

    [Fact]
    public void ConstructorNormalisesAndValidates()
    {
        var v = new GgufValue(GgufValueType.UInt32, 5);
        Assert.IsType<uint>(v.Value);
        Assert.IsType<long[]>(new GgufValue(GgufValueType.Array, new[] { 1, 2 }, GgufValueType.Int64).Value);
        Assert.Throws<ArgumentException>(() => new GgufValue(GgufValueType.UInt8, 300));
        Assert.Throws<ArgumentException>(() => new GgufValue(GgufValueType.String, 3));
        Assert.Throws<ArgumentException>(() => new GgufValue(GgufValueType.UInt32, "3"));
        Assert.Throws<ArgumentException>(() => new GgufValue(GgufValueType.Array, new[] { 1 }, GgufValueType.Array));
        Assert.Throws<ArgumentException>(() => new GgufValue((GgufValueType)13, 1));
        Assert.Throws<ArgumentException>(() => new GgufValue(GgufValueType.Array, 5, GgufValueType.Int32));
        Assert.Equal(GgufValueType.UInt8, GgufValue.FromUInt32(1).ElementType);
    }

    [Fact]
    public void TypeTraitsKnowEveryEnumValue()
    {
        foreach (var t in Enum.GetValues<GgmlType>())
        {
            Assert.True(GgmlTypeTraits.IsKnown(t));
            Assert.True(GgmlTypeTraits.BlockSize(t) > 0);
            Assert.True(GgmlTypeTraits.BlockBytes(t) > 0);
        }
        Assert.False(GgmlTypeTraits.IsKnown((GgmlType)31));
        Assert.Equal(34, GgmlTypeTraits.RowBytes(GgmlType.Q8_0, 32));
        Assert.Equal(210 * 2, GgmlTypeTraits.RowBytes(GgmlType.Q6_K, 512));
        Assert.Throws<ArgumentException>(() => GgmlTypeTraits.RowBytes(GgmlType.Q4_K, 100));
    }
}
