using System.Globalization;

namespace Whale.Gguf;

/// <summary>One metadata value: a scalar, a string, or an array of one element type.</summary>
/// <remarks>
/// Scalars are stored boxed as the natural CLR type of <see cref="Type"/> (byte, sbyte, ushort, short, uint, int,
/// float, bool, string, ulong, long, double); arrays as a typed CLR array of the element type (byte[], ..., string[]).
/// The constructor normalises integer/float scalars and numeric arrays of another CLR type (range-checked), so
/// <c>new GgufValue(GgufValueType.UInt32, 5)</c> stores a <see cref="uint"/>. The <c>As*</c> accessors convert between
/// compatible types and throw <see cref="InvalidCastException"/> naming the actual type otherwise.
/// </remarks>
public sealed class GgufValue
{
    /// <summary>Creates a value; <paramref name="value"/> must match <paramref name="type"/> (numbers are converted).</summary>
    /// <exception cref="ArgumentException">The value does not fit the type, or the array is nested.</exception>
    public GgufValue(GgufValueType type, object value, GgufValueType elementType = GgufValueType.UInt8)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!Enum.IsDefined(type))
            throw new ArgumentException($"unknown GGUF value type {(uint)type}", nameof(type));
        if (type == GgufValueType.Array)
        {
            if (elementType == GgufValueType.Array)
                throw new ArgumentException("nested GGUF arrays are not supported", nameof(elementType));
            if (!Enum.IsDefined(elementType))
                throw new ArgumentException($"unknown GGUF array element type {(uint)elementType}", nameof(elementType));
            value = NormalizeArray(elementType, value);
        }
        else
        {
            value = NormalizeScalar(type, value);
        }
        Type = type; Value = value; ElementType = type == GgufValueType.Array ? elementType : GgufValueType.UInt8;
    }

    /// <summary>Type of the value.</summary>
    public GgufValueType Type { get; }

    /// <summary>Element type when <see cref="Type"/> is Array.</summary>
    public GgufValueType ElementType { get; }

    /// <summary>The boxed scalar, the string, or a typed array (string[], int[], uint[], float[], byte[], ...).</summary>
    public object Value { get; }

    /// <summary>Any integer scalar as a long (UInt64 above long.MaxValue throws).</summary>
    public long AsInt64()
    {
        if (TryGetInteger(Type, Value, out long v, out ulong big))
            return big == 0 ? v : throw new InvalidCastException($"GGUF value {big} ({Type}) is out of range for Int64");
        throw Mismatch("an integer");
    }

    /// <summary>Any integer scalar as an int, range-checked.</summary>
    public int AsInt32()
    {
        long v = AsInt64();
        return v is >= int.MinValue and <= int.MaxValue
            ? (int)v : throw new InvalidCastException($"GGUF value {v} ({Type}) is out of range for Int32");
    }

    /// <summary>Any integer scalar as a uint, range-checked.</summary>
    public uint AsUInt32()
    {
        long v = AsInt64();
        return v is >= 0 and <= uint.MaxValue
            ? (uint)v : throw new InvalidCastException($"GGUF value {v} ({Type}) is out of range for UInt32");
    }

    /// <summary>A Float32 value; Float64 and integer values are converted.</summary>
    public float AsSingle() => Value switch
    {
        float f => f,
        double d => (float)d,
        _ when TryGetInteger(Type, Value, out long v, out ulong big) => big != 0 ? (float)big : (float)v,
        _ => throw Mismatch("a float"),
    };

    /// <summary>A Bool value; integer 0 and 1 are accepted too.</summary>
    public bool AsBool()
    {
        if (Value is bool b) return b;
        if (TryGetInteger(Type, Value, out long v, out ulong big) && big == 0 && v is 0 or 1) return v == 1;
        throw Mismatch("a bool");
    }

    /// <summary>A String value.</summary>
    public string AsString() => Value as string ?? throw Mismatch("a string");

    /// <summary>An array of strings (the stored array, not a copy).</summary>
    public string[] AsStringArray() => Value as string[] ?? throw Mismatch("an array of strings");

    /// <summary>An array of any integer element type as int[] (range-checked; an Int32 array is returned as stored).</summary>
    public int[] AsInt32Array()
    {
        // Switch on the element type, not the CLR array type: the CLR lets a uint[] pass as an int[] (and
        // sbyte[]/byte[], short[]/ushort[], long[]/ulong[] likewise), which would silently reinterpret values.
        if (Type != GgufValueType.Array) throw Mismatch("an array of integers");
        return ElementType switch
        {
            GgufValueType.Int32 => (int[])Value,
            GgufValueType.UInt32 => Convert((uint[])Value, x => x <= int.MaxValue ? (int)x : Overflow<int>(x)),
            GgufValueType.UInt8 => Convert((byte[])Value, x => (int)x),
            GgufValueType.Int8 => Convert((sbyte[])Value, x => (int)x),
            GgufValueType.UInt16 => Convert((ushort[])Value, x => (int)x),
            GgufValueType.Int16 => Convert((short[])Value, x => (int)x),
            GgufValueType.Int64 => Convert((long[])Value, x => x is >= int.MinValue and <= int.MaxValue ? (int)x : Overflow<int>(x)),
            GgufValueType.UInt64 => Convert((ulong[])Value, x => x <= int.MaxValue ? (int)x : Overflow<int>(x)),
            _ => throw Mismatch("an array of integers"),
        };
    }

    /// <summary>An array of Float32 (returned as stored); Float64 and integer arrays are converted.</summary>
    public float[] AsSingleArray()
    {
        if (Type != GgufValueType.Array) throw Mismatch("an array of numbers");
        return ElementType switch
        {
            GgufValueType.Float32 => (float[])Value,
            GgufValueType.Float64 => Convert((double[])Value, x => (float)x),
            GgufValueType.Int32 => Convert((int[])Value, x => (float)x),
            GgufValueType.UInt32 => Convert((uint[])Value, x => (float)x),
            GgufValueType.UInt8 => Convert((byte[])Value, x => (float)x),
            GgufValueType.Int8 => Convert((sbyte[])Value, x => (float)x),
            GgufValueType.UInt16 => Convert((ushort[])Value, x => (float)x),
            GgufValueType.Int16 => Convert((short[])Value, x => (float)x),
            GgufValueType.Int64 => Convert((long[])Value, x => (float)x),
            GgufValueType.UInt64 => Convert((ulong[])Value, x => (float)x),
            _ => throw Mismatch("an array of numbers"),
        };
    }

    /// <summary>Number of elements of an array value.</summary>
    public int ArrayLength => Value is Array a ? a.Length : throw Mismatch("an array");

    /// <summary>Short human-readable form (arrays show their element type and length).</summary>
    public override string ToString() => Value switch
    {
        Array a => $"[{ElementType} x {a.Length}]",
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Value.ToString() ?? "",
    };

    /// <summary>A String value.</summary>
    public static GgufValue FromString(string v) => new(GgufValueType.String, v);
    /// <summary>A UInt32 scalar.</summary>
    public static GgufValue FromUInt32(uint v) => new(GgufValueType.UInt32, v);
    /// <summary>An Int32 scalar.</summary>
    public static GgufValue FromInt32(int v) => new(GgufValueType.Int32, v);
    /// <summary>A Float32 scalar.</summary>
    public static GgufValue FromFloat32(float v) => new(GgufValueType.Float32, v);
    /// <summary>A Bool scalar.</summary>
    public static GgufValue FromBool(bool v) => new(GgufValueType.Bool, v);
    /// <summary>An Array of String (not copied).</summary>
    public static GgufValue FromStringArray(string[] v) => new(GgufValueType.Array, v, GgufValueType.String);
    /// <summary>An Array of Int32 (not copied).</summary>
    public static GgufValue FromInt32Array(int[] v) => new(GgufValueType.Array, v, GgufValueType.Int32);
    /// <summary>An Array of Float32 (not copied).</summary>
    public static GgufValue FromFloat32Array(float[] v) => new(GgufValueType.Array, v, GgufValueType.Float32);

    /// <summary>A UInt8 scalar.</summary>
    public static GgufValue FromUInt8(byte v) => new(GgufValueType.UInt8, v);
    /// <summary>An Int8 scalar.</summary>
    public static GgufValue FromInt8(sbyte v) => new(GgufValueType.Int8, v);
    /// <summary>A UInt16 scalar.</summary>
    public static GgufValue FromUInt16(ushort v) => new(GgufValueType.UInt16, v);
    /// <summary>An Int16 scalar.</summary>
    public static GgufValue FromInt16(short v) => new(GgufValueType.Int16, v);
    /// <summary>A UInt64 scalar.</summary>
    public static GgufValue FromUInt64(ulong v) => new(GgufValueType.UInt64, v);
    /// <summary>An Int64 scalar.</summary>
    public static GgufValue FromInt64(long v) => new(GgufValueType.Int64, v);
    /// <summary>A Float64 scalar.</summary>
    public static GgufValue FromFloat64(double v) => new(GgufValueType.Float64, v);
    /// <summary>An array of <paramref name="elementType"/>; <paramref name="values"/> is a CLR array of that type.</summary>
    public static GgufValue FromArray(GgufValueType elementType, Array values) => new(GgufValueType.Array, values, elementType);

    /// <summary>The CLR type used to store a scalar of <paramref name="type"/>.</summary>
    internal static Type ClrType(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => typeof(byte),
        GgufValueType.Int8 => typeof(sbyte),
        GgufValueType.UInt16 => typeof(ushort),
        GgufValueType.Int16 => typeof(short),
        GgufValueType.UInt32 => typeof(uint),
        GgufValueType.Int32 => typeof(int),
        GgufValueType.Float32 => typeof(float),
        GgufValueType.Bool => typeof(bool),
        GgufValueType.String => typeof(string),
        GgufValueType.UInt64 => typeof(ulong),
        GgufValueType.Int64 => typeof(long),
        GgufValueType.Float64 => typeof(double),
        _ => throw new ArgumentException($"no CLR type for GGUF value type {type}"),
    };

    private InvalidCastException Mismatch(string wanted)
    {
        string actual = Type == GgufValueType.Array ? $"Array of {ElementType}" : Type.ToString();
        return new InvalidCastException($"GGUF value is {actual}, expected {wanted}");
    }

    private static T Overflow<T>(object x) =>
        throw new InvalidCastException($"GGUF array element {x} is out of range for {typeof(T).Name}");

    private static TOut[] Convert<TIn, TOut>(TIn[] a, Func<TIn, TOut> f)
    {
        var r = new TOut[a.Length];
        for (int i = 0; i < a.Length; i++) r[i] = f(a[i]);
        return r;
    }

    /// <summary>Reads an integer scalar: small values in <paramref name="v"/>, UInt64 above long.MaxValue in <paramref name="big"/>.</summary>
    private static bool TryGetInteger(GgufValueType type, object value, out long v, out ulong big)
    {
        big = 0; v = 0;
        switch (value)
        {
            case byte x: v = x; return true;
            case sbyte x: v = x; return true;
            case ushort x: v = x; return true;
            case short x: v = x; return true;
            case uint x: v = x; return true;
            case int x: v = x; return true;
            case long x: v = x; return true;
            case ulong x: if (x > long.MaxValue) big = x; else v = (long)x; return true;
            default: _ = type; return false;
        }
    }

    private static object NormalizeScalar(GgufValueType type, object value)
    {
        var clr = ClrType(type);
        if (value.GetType() == clr) return value;
        try
        {
            return type switch
            {
                GgufValueType.String or GgufValueType.Bool =>
                    throw new ArgumentException($"a {type} GGUF value needs a {clr.Name}, got {value.GetType().Name}"),
                _ when value is string or bool or char =>
                    throw new ArgumentException($"a {type} GGUF value needs a number, got {value.GetType().Name}"),
                _ => System.Convert.ChangeType(value, clr, CultureInfo.InvariantCulture),
            };
        }
        catch (Exception e) when (e is OverflowException or InvalidCastException)
        {
            throw new ArgumentException($"{value} ({value.GetType().Name}) does not fit a {type} GGUF value", e);
        }
    }

    private static Array NormalizeArray(GgufValueType elementType, object value)
    {
        if (value is not Array array || array.Rank != 1)
            throw new ArgumentException($"an Array GGUF value needs a one-dimensional CLR array, got {value.GetType().Name}");
        var clr = ClrType(elementType);
        var actual = array.GetType().GetElementType()!;
        if (actual == clr) return array;
        var result = Array.CreateInstance(clr, array.Length);
        for (int i = 0; i < array.Length; i++)
        {
            object? e = array.GetValue(i);
            if (e is null) throw new ArgumentException($"GGUF array element {i} is null");
            result.SetValue(NormalizeScalar(elementType, e), i);
        }
        return result;
    }
}
