using Whale.Gguf;

namespace Whale.Tests.Gguf;

public sealed class GgufRoundTripTests : IDisposable
{
    private readonly GgufTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static GgufWriter AllValueTypes()
    {
        var w = new GgufWriter();
        w.SetString("general.architecture", "llama");
        w.Set("u8", GgufValue.FromUInt8(200));
        w.Set("i8", GgufValue.FromInt8(-100));
        w.Set("u16", GgufValue.FromUInt16(60000));
        w.Set("i16", GgufValue.FromInt16(-30000));
        w.SetUInt32("u32", 4_000_000_000);
        w.SetInt32("i32", -2_000_000_000);
        w.SetFloat32("f32", 1.5e-6f);
        w.SetBool("bool.true", true);
        w.SetBool("bool.false", false);
        w.SetString("str", "héllo ✓ wörld");
        w.SetString("str.empty", "");
        w.SetUInt64("u64", ulong.MaxValue);
        w.SetInt64("i64", long.MinValue);
        w.SetFloat64("f64", Math.PI);
        w.Set("a.u8", GgufValue.FromArray(GgufValueType.UInt8, new byte[] { 0, 1, 255 }));
        w.Set("a.i8", GgufValue.FromArray(GgufValueType.Int8, new sbyte[] { -128, 0, 127 }));
        w.Set("a.u16", GgufValue.FromArray(GgufValueType.UInt16, new ushort[] { 1, 65535 }));
        w.Set("a.i16", GgufValue.FromArray(GgufValueType.Int16, new short[] { -1, 32767 }));
        w.Set("a.u32", GgufValue.FromArray(GgufValueType.UInt32, new uint[] { 7, 8, 9 }));
        w.Set("a.i32", GgufValue.FromInt32Array([-1, 0, 1, int.MaxValue]));
        w.Set("a.f32", GgufValue.FromFloat32Array([0.5f, -2f, float.NaN]));
        w.Set("a.bool", GgufValue.FromArray(GgufValueType.Bool, new[] { true, false, true }));
        w.Set("a.str", GgufValue.FromStringArray(["a", "", "Ġthe", "日本"]));
        w.Set("a.u64", GgufValue.FromArray(GgufValueType.UInt64, new ulong[] { 0, ulong.MaxValue }));
        w.Set("a.i64", GgufValue.FromArray(GgufValueType.Int64, new long[] { long.MinValue, 5 }));
        w.Set("a.f64", GgufValue.FromArray(GgufValueType.Float64, new[] { 1e300, -0.25 }));
        w.Set("a.empty", GgufValue.FromArray(GgufValueType.Int32, Array.Empty<int>()));
        return w;
    }

    [Fact]
    public void EveryValueTypeRoundTrips()
    {
        string path = _files.PathOf("values.gguf");
        var w = AllValueTypes();
        w.Write(path);
        using var f = GgufFile.Open(path);
        Assert.Equal(3u, f.Version);
        Assert.Equal(32u, f.Alignment);
        Assert.Empty(f.Tensors);
        Assert.Equal(w.MetadataCount, f.Metadata.Count);
        Assert.Equal("llama", f.Architecture);
        Assert.Equal((byte)200, f.GetValue("u8").Value);
        Assert.Equal((sbyte)-100, f.GetValue("i8").Value);
        Assert.Equal((ushort)60000, f.GetValue("u16").Value);
        Assert.Equal((short)-30000, f.GetValue("i16").Value);
        Assert.Equal(4_000_000_000u, f.GetValue("u32").AsUInt32());
        Assert.Equal(-2_000_000_000, f.GetInt32("i32", 0));
        Assert.Equal(1.5e-6f, f.GetSingle("f32", 0));
        Assert.True(f.GetBool("bool.true", false));
        Assert.False(f.GetBool("bool.false", true));
        Assert.Equal("héllo ✓ wörld", f.GetString("str"));
        Assert.Equal("", f.GetString("str.empty"));
        Assert.Equal(ulong.MaxValue, f.GetValue("u64").Value);
        Assert.Equal(long.MinValue, f.GetInt64("i64", 0));
        Assert.Equal(Math.PI, f.GetValue("f64").Value);
        Assert.Equal((float)Math.PI, f.GetSingle("f64", 0));
        Assert.Equal(new byte[] { 0, 1, 255 }, f.GetValue("a.u8").Value);
        Assert.Equal(new sbyte[] { -128, 0, 127 }, f.GetValue("a.i8").Value);
        Assert.Equal(new ushort[] { 1, 65535 }, f.GetValue("a.u16").Value);
        Assert.Equal(new short[] { -1, 32767 }, f.GetValue("a.i16").Value);
        Assert.Equal(new uint[] { 7, 8, 9 }, f.GetValue("a.u32").Value);
        Assert.Equal(new[] { 7, 8, 9 }, f.GetValue("a.u32").AsInt32Array());
        Assert.Equal(new[] { -1, 0, 1, int.MaxValue }, f.GetValue("a.i32").AsInt32Array());
        var fa = f.GetValue("a.f32").AsSingleArray();
        Assert.Equal(0.5f, fa[0]); Assert.Equal(-2f, fa[1]); Assert.True(float.IsNaN(fa[2]));
        Assert.Equal(new[] { true, false, true }, f.GetValue("a.bool").Value);
        Assert.Equal(new[] { "a", "", "Ġthe", "日本" }, f.GetValue("a.str").AsStringArray());
        Assert.Equal(GgufValueType.String, f.GetValue("a.str").ElementType);
        Assert.Equal(new ulong[] { 0, ulong.MaxValue }, f.GetValue("a.u64").Value);
        Assert.Equal(new[] { long.MinValue, 5 }, f.GetValue("a.i64").Value);
        Assert.Equal(new[] { 1e300, -0.25 }, f.GetValue("a.f64").Value);
        Assert.Equal(0, f.GetValue("a.empty").ArrayLength);
        // every value keeps its stored type
        foreach (var (_, value) in f.Metadata)
            Assert.Equal(GgufValue.ClrType(value.Type == GgufValueType.Array ? value.ElementType : value.Type),
                value.Type == GgufValueType.Array ? value.Value.GetType().GetElementType() : value.Value.GetType());
    }

    [Fact]
    public void MetadataKeepsInsertionOrderAndSetReplacesInPlace()
    {
        var w = new GgufWriter();
        w.SetString("a", "1");
        w.SetString("b", "2");
        w.SetString("c", "3");
        w.SetUInt32("a", 10);
        string path = _files.PathOf("order.gguf");
        w.Write(path);
        using var f = GgufFile.Open(path);
        Assert.Equal(new[] { "a", "b", "c" }, f.Metadata.Keys.ToArray());
        Assert.Equal(GgufValueType.UInt32, f.GetValue("a").Type);
        Assert.Equal(10, f.GetInt32("a", 0));
        // exact start of the file: magic, version 3, 0 tensors, 3 kv, key "a"
        var bytes = File.ReadAllBytes(path);
        Assert.Equal("GGUF"u8.ToArray(), bytes[..4]);
        Assert.Equal(3u, BitConverter.ToUInt32(bytes, 4));
        Assert.Equal(0ul, BitConverter.ToUInt64(bytes, 8));
        Assert.Equal(3ul, BitConverter.ToUInt64(bytes, 16));
        Assert.Equal(1ul, BitConverter.ToUInt64(bytes, 24));
        Assert.Equal((byte)'a', bytes[32]);
        Assert.Equal((uint)GgufValueType.UInt32, BitConverter.ToUInt32(bytes, 33));
    }

    public static TheoryData<uint> Alignments => [32u, 64u, 16u, 128u, 1u];

    [Theory]
    [MemberData(nameof(Alignments))]
    public void TensorsOfSeveralTypesReadBackByteExact(uint alignment)
    {
        var rng = new Random(1234);
        var specs = new (string Name, GgmlType Type, long[] Shape)[]
        {
            ("f32", GgmlType.F32, [7, 3]),
            ("f16", GgmlType.F16, [5]),
            ("bf16", GgmlType.BF16, [3, 2, 2]),
            ("q8_0", GgmlType.Q8_0, [64, 3]),
            ("q4_0", GgmlType.Q4_0, [32, 1, 2, 2]),
            ("q4_k", GgmlType.Q4_K, [256, 2]),
            ("q6_k", GgmlType.Q6_K, [512]),
            ("i8", GgmlType.I8, [13]),
            ("iq2_xxs", GgmlType.IQ2_XXS, [256]),
        };
        var w = new GgufWriter { Alignment = alignment };
        w.SetString("general.architecture", "test");
        var data = new Dictionary<string, byte[]>();
        foreach (var (name, type, shape) in specs)
        {
            long n = shape.Aggregate(1L, (a, b) => a * b);
            var bytes = new byte[n / GgmlTypeTraits.BlockSize(type) * GgmlTypeTraits.BlockBytes(type)];
            rng.NextBytes(bytes);
            data[name] = bytes;
            w.AddTensor(name, type, shape, bytes);
        }
        string path = _files.PathOf($"tensors-{alignment}.gguf");
        w.Write(path);

        var file = File.ReadAllBytes(path);
        using var f = GgufFile.Open(path);
        Assert.Equal(alignment, f.Alignment);
        if (alignment != 32) Assert.Equal(alignment, f.GetValue("general.alignment").AsUInt32());
        else Assert.False(f.TryGetValue("general.alignment", out _));
        Assert.Equal(specs.Select(s => s.Name), f.Tensors.Select(t => t.Name));
        long previousEnd = 0;
        foreach (var (name, type, shape) in specs)
        {
            var t = f.GetTensor(name);
            Assert.True(f.TryGetTensor(name, out var same));
            Assert.Same(t, same);
            Assert.Equal(type, t.Type);
            Assert.Equal(shape, t.Shape);
            Assert.Equal(0, t.Shard);
            Assert.Equal(0, t.Offset % alignment);
            Assert.True(t.Offset >= previousEnd);
            Assert.Equal(data[name], f.GetTensorSpan(t).ToArray());
            Assert.Equal(data[name].Length, t.ByteSize);
            previousEnd = t.Offset + t.ByteSize;
        }
        // data section start is aligned, padding bytes are zero, and the file ends aligned
        long absFirst = file.Length - (previousEnd + (alignment - previousEnd % alignment) % alignment);
        Assert.Equal(0, absFirst % alignment);
        Assert.Equal(data["f32"], file.AsSpan((int)absFirst, data["f32"].Length).ToArray());
        for (int i = 1; i < f.Tensors.Count; i++)
        {
            var prev = f.Tensors[i - 1];
            for (long p = prev.Offset + prev.ByteSize; p < f.Tensors[i].Offset; p++)
                Assert.Equal(0, file[absFirst + p]);
        }
        Assert.Equal(0, file.Length % alignment);
    }

    [Fact]
    public void StreamAndFileOutputsAreIdentical()
    {
        var w = AllValueTypes();
        w.AddTensor("t", GgmlType.F32, [4], new byte[16]);
        string path = _files.PathOf("same.gguf");
        w.Write(path);
        Assert.Equal(GgufTestFiles.ToBytes(w), File.ReadAllBytes(path));
    }

    [Fact]
    public void WriterRejectsBadTensors()
    {
        var w = new GgufWriter();
        w.AddTensor("x", GgmlType.F32, [2], new byte[8]);
        Assert.Throws<ArgumentException>(() => w.AddTensor("x", GgmlType.F32, [2], new byte[8]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("y", GgmlType.F32, [2], new byte[7]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("y", GgmlType.Q8_0, [16], new byte[17]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("y", GgmlType.F32, [1, 1, 1, 1, 1], new byte[4]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("y", GgmlType.F32, [], new byte[4]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("y", (GgmlType)31, [1], new byte[4]));
        Assert.Throws<ArgumentException>(() => w.AddTensor(new string('n', 64), GgmlType.F32, [1], new byte[4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => w.Alignment = 48);
        Assert.Throws<ArgumentOutOfRangeException>(() => w.Alignment = 0);
        Assert.Equal(1, w.TensorCount);
    }

    [Fact]
    public void SettingGeneralAlignmentSetsTheWriterAlignment()
    {
        var w = new GgufWriter();
        w.SetUInt32("general.alignment", 64);
        Assert.Equal(64u, w.Alignment);
        w.AddTensor("a", GgmlType.F32, [3], new byte[12]);
        w.AddTensor("b", GgmlType.F32, [3], new byte[12]);
        string path = _files.PathOf("align-key.gguf");
        w.Write(path);
        using var f = GgufFile.Open(path);
        Assert.Equal(64u, f.Alignment);
        Assert.Equal(64, f.GetTensor("b").Offset);
    }

    [Fact]
    public void DisposeReleasesTheFile()
    {
        var w = new GgufWriter();
        w.AddTensor("t", GgmlType.F32, [8], new byte[32]);
        string path = _files.PathOf("release.gguf");
        w.Write(path);
        var f = GgufFile.Open(path);
        var t = f.GetTensor("t");
        Assert.Equal(32, f.GetTensorSpan(t).Length);
        f.Dispose();
        f.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => { unsafe { _ = f.GetTensorData(t); } });
        // the file can be overwritten exclusively and deleted
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) fs.SetLength(3);
        File.Delete(path);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void FailedOpenReleasesTheFile()
    {
        var bytes = GgufTestFiles.ToBytes(AllValueTypes());
        bytes[4] = 9; // version 9
        string path = _files.WriteBytes("failed.gguf", bytes);
        GgufTestFiles.OpenFails(path, "version 9");
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) fs.SetLength(0);
        File.Delete(path);
        Assert.False(File.Exists(path));
    }
}
