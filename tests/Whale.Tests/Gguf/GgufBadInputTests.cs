using System.Diagnostics;
using Whale.Gguf;

namespace Whale.Tests.Gguf;

public sealed class GgufBadInputTests : IDisposable
{
    private readonly GgufTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>A small valid file whose last tensor ends exactly at the end of the file.</summary>
    private static byte[] SmallValidFile(uint alignment = 32)
    {
        var w = new GgufWriter { Alignment = alignment };
        w.SetString("general.architecture", "llama");
        w.SetUInt32("llama.block_count", 2);
        w.SetFloat32("llama.rope.freq_base", 10000f);
        w.SetBool("tokenizer.ggml.add_bos_token", true);
        w.Set("tokenizer.ggml.tokens", GgufValue.FromStringArray(["<s>", "a", "bc"]));
        w.Set("tokenizer.ggml.token_type", GgufValue.FromInt32Array([3, 1, 1]));
        w.AddTensor("emb", GgmlType.F32, [3, 2], new byte[24]);
        w.AddTensor("out", GgmlType.F16, [16], Enumerable.Range(0, 32).Select(i => (byte)(i + 1)).ToArray());
        return GgufTestFiles.ToBytes(w);
    }

    private static byte[] OneKv(string key, GgufValue value)
    {
        var w = new GgufWriter();
        w.Set(key, value);
        return GgufTestFiles.ToBytes(w);
    }

    [Fact]
    public void SmallValidFileOpens()
    {
        string path = _files.WriteBytes("valid.gguf", SmallValidFile());
        using var f = GgufFile.Open(path);
        Assert.Equal(2, f.Tensors.Count);
        Assert.Equal(32, f.GetTensorSpan(f.GetTensor("out")).Length);
        Assert.Equal(32, f.GetTensorSpan(f.GetTensor("out"))[31]);
    }

    [Fact]
    public void EveryTruncationPointThrowsGgufException()
    {
        var bytes = SmallValidFile();
        var sw = Stopwatch.StartNew();
        string path = _files.PathOf("trunc.gguf");
        for (int len = 0; len < bytes.Length; len++)
        {
            File.WriteAllBytes(path, bytes[..len]);
            var e = Assert.Throws<GgufException>(() => { using var f = GgufFile.Open(path); });
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
            if (len == 0) Assert.Contains("empty", e.Message, StringComparison.Ordinal);
            else Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");
    }

    [Fact]
    public void TruncatedHeaderMessageSaysTruncated()
    {
        var bytes = SmallValidFile();
        string path = _files.WriteBytes("trunc-header.gguf", bytes[..100]);
        GgufTestFiles.OpenFails(path, "truncated");
    }

    [Fact]
    public void EmptyFile()
    {
        string path = _files.WriteBytes("empty.gguf", []);
        GgufTestFiles.OpenFails(path, "empty");
    }

    [Fact]
    public void MissingFile()
    {
        string path = _files.PathOf("nope.gguf");
        GgufTestFiles.OpenFails(path, "cannot open");
    }

    [Fact]
    public void WrongMagic()
    {
        var bytes = SmallValidFile();
        bytes[0] = (byte)'X';
        GgufTestFiles.OpenFails(_files.WriteBytes("magic.gguf", bytes), "not a GGUF file", "XGUF");
    }

    [Fact]
    public void Version1IsRejected()
    {
        var bytes = SmallValidFile();
        GgufTestFiles.PutU32(bytes, 4, 1);
        GgufTestFiles.OpenFails(_files.WriteBytes("v1.gguf", bytes), "version 1");
    }

    [Fact]
    public void Version2IsAccepted()
    {
        var bytes = SmallValidFile();
        GgufTestFiles.PutU32(bytes, 4, 2);
        using var f = GgufFile.Open(_files.WriteBytes("v2.gguf", bytes));
        Assert.Equal(2u, f.Version);
        Assert.Equal(2, f.Tensors.Count);
    }

    [Fact]
    public void Version4IsRejected()
    {
        var bytes = SmallValidFile();
        GgufTestFiles.PutU32(bytes, 4, 4);
        GgufTestFiles.OpenFails(_files.WriteBytes("v4.gguf", bytes), "unsupported GGUF version 4");
    }

    [Fact]
    public void BigEndianIsDetected()
    {
        var bytes = SmallValidFile();
        bytes[4] = 0; bytes[5] = 0; bytes[6] = 0; bytes[7] = 3;
        GgufTestFiles.OpenFails(_files.WriteBytes("be.gguf", bytes), "big-endian");
    }

    [Fact]
    public void UnknownValueType()
    {
        var bytes = OneKv("k", GgufValue.FromUInt32(5));
        // header 24 + key length 8 + "k" 1 => type at 33
        GgufTestFiles.PutU32(bytes, 33, 13);
        GgufTestFiles.OpenFails(_files.WriteBytes("vtype.gguf", bytes), "unknown metadata value type 13", "'k'");
    }

    [Fact]
    public void UnknownArrayElementType()
    {
        var bytes = OneKv("k", GgufValue.FromInt32Array([1, 2]));
        GgufTestFiles.PutU32(bytes, 37, 77);
        GgufTestFiles.OpenFails(_files.WriteBytes("etype.gguf", bytes), "unknown array element type 77", "'k'");
    }

    [Fact]
    public void NestedArrayIsRejected()
    {
        var bytes = OneKv("k", GgufValue.FromInt32Array([1, 2]));
        GgufTestFiles.PutU32(bytes, 37, (uint)GgufValueType.Array);
        GgufTestFiles.OpenFails(_files.WriteBytes("nested.gguf", bytes), "nested arrays", "'k'");
    }

    [Fact]
    public void HugeArrayCountIsRejectedWithoutAllocating()
    {
        var bytes = OneKv("k", GgufValue.FromInt32Array([1, 2]));
        GgufTestFiles.PutU64(bytes, 41, 1UL << 40);
        GgufTestFiles.OpenFails(_files.WriteBytes("hugearr.gguf", bytes), "array length 1099511627776", "truncated");
    }

    [Fact]
    public void HugeStringLengthIsRejected()
    {
        var bytes = OneKv("k", GgufValue.FromString("abc"));
        GgufTestFiles.PutU64(bytes, 37, ulong.MaxValue - 3);
        GgufTestFiles.OpenFails(_files.WriteBytes("hugestr.gguf", bytes), "truncated");
    }

    [Fact]
    public void HugeCountsAreRejected()
    {
        var bytes = SmallValidFile();
        GgufTestFiles.PutU64(bytes, 16, 1UL << 62);
        GgufTestFiles.OpenFails(_files.WriteBytes("hugekv.gguf", bytes), "metadata count");
        bytes = SmallValidFile();
        GgufTestFiles.PutU64(bytes, 8, ulong.MaxValue);
        GgufTestFiles.OpenFails(_files.WriteBytes("hugetensors.gguf", bytes), "tensor count");
    }

    [Fact]
    public void DuplicateKey()
    {
        var w = new GgufWriter();
        w.SetUInt32("key.a", 1);
        w.SetUInt32("key.b", 2);
        var bytes = GgufTestFiles.ToBytes(w);
        bytes[GgufTestFiles.Find(bytes, "key.b") + 4] = (byte)'a';
        GgufTestFiles.OpenFails(_files.WriteBytes("dupkey.gguf", bytes), "duplicate metadata key 'key.a'");
    }

    [Fact]
    public void DuplicateTensorName()
    {
        var bytes = SmallValidFile();
        int at = GgufTestFiles.Find(bytes, "out", GgufTestFiles.Find(bytes, "emb"));
        bytes[at] = (byte)'e'; bytes[at + 1] = (byte)'m'; bytes[at + 2] = (byte)'b';
        GgufTestFiles.OpenFails(_files.WriteBytes("duptensor.gguf", bytes), "duplicate tensor name 'emb'");
    }

    [Fact]
    public void FiveDimensions()
    {
        var bytes = SmallValidFile();
        int nDims = GgufTestFiles.Find(bytes, "emb") + 3;
        GgufTestFiles.PutU32(bytes, nDims, 5);
        GgufTestFiles.OpenFails(_files.WriteBytes("dims5.gguf", bytes), "tensor 'emb' has 5 dimensions");
    }

    [Fact]
    public void ZeroDimension()
    {
        var bytes = SmallValidFile();
        int ne0 = GgufTestFiles.Find(bytes, "emb") + 3 + 4;
        GgufTestFiles.PutU64(bytes, ne0, 0);
        GgufTestFiles.OpenFails(_files.WriteBytes("dim0.gguf", bytes), "tensor 'emb' dimension 0 is 0");
    }

    [Fact]
    public void UnknownTensorType()
    {
        var bytes = SmallValidFile();
        int type = GgufTestFiles.Find(bytes, "emb") + 3 + 4 + 16;
        GgufTestFiles.PutU32(bytes, type, 31);
        GgufTestFiles.OpenFails(_files.WriteBytes("ttype.gguf", bytes), "unknown tensor type 31 for tensor 'emb'");
    }

    [Fact]
    public void RowNotAMultipleOfTheBlockSize()
    {
        var bytes = SmallValidFile();
        int type = GgufTestFiles.Find(bytes, "emb") + 3 + 4 + 16;
        GgufTestFiles.PutU32(bytes, type, (uint)GgmlType.Q8_0);
        GgufTestFiles.OpenFails(_files.WriteBytes("block.gguf", bytes), "tensor 'emb'", "block size 32");
    }

    [Fact]
    public void TensorDataPastTheEnd()
    {
        var bytes = SmallValidFile();
        string path = _files.WriteBytes("pastend.gguf", bytes[..^1]);
        var e = GgufTestFiles.OpenFails(path, "tensor 'out' data [", $"is past the end of the file ({bytes.Length - 1} bytes)");
        Assert.Contains($", {bytes.Length})", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TensorOffsetPastTheEnd()
    {
        var bytes = SmallValidFile();
        int offset = GgufTestFiles.Find(bytes, "out") + 3 + 4 + 8 + 4;
        GgufTestFiles.PutU64(bytes, offset, 1UL << 62);
        GgufTestFiles.OpenFails(_files.WriteBytes("offset.gguf", bytes), "tensor 'out' data [", "past the end");
    }

    [Fact]
    public void MisalignedTensorOffset()
    {
        var bytes = SmallValidFile();
        int offset = GgufTestFiles.Find(bytes, "out") + 3 + 4 + 8 + 4;
        GgufTestFiles.PutU64(bytes, offset, 33);
        GgufTestFiles.OpenFails(_files.WriteBytes("misaligned.gguf", bytes), "tensor 'out' data offset 33");
    }

    [Theory]
    [InlineData(48u)]
    [InlineData(0u)]
    public void BadAlignment(uint alignment)
    {
        var bytes = SmallValidFile(64);
        int value = GgufTestFiles.Find(bytes, "general.alignment") + "general.alignment".Length + 4;
        Assert.Equal(64u, BitConverter.ToUInt32(bytes, value));
        GgufTestFiles.PutU32(bytes, value, alignment);
        GgufTestFiles.OpenFails(_files.WriteBytes("align.gguf", bytes), $"invalid general.alignment {alignment}");
    }

    [Fact]
    public void AlignmentOfTheWrongType()
    {
        var bytes = SmallValidFile(64);
        int type = GgufTestFiles.Find(bytes, "general.alignment") + "general.alignment".Length;
        GgufTestFiles.PutU32(bytes, type, (uint)GgufValueType.Float32);
        GgufTestFiles.OpenFails(_files.WriteBytes("aligntype.gguf", bytes), "general.alignment");
    }

    [Fact]
    public void MissingTensorAndKey()
    {
        using var f = GgufFile.Open(_files.WriteBytes("missing.gguf", SmallValidFile()));
        var e = Assert.Throws<GgufException>(() => f.GetTensor("nope"));
        Assert.Contains("missing tensor 'nope'", e.Message, StringComparison.Ordinal);
        Assert.False(f.TryGetTensor("nope", out _));
        e = Assert.Throws<GgufException>(() => f.GetValue("no.key"));
        Assert.Contains("missing metadata key 'no.key'", e.Message, StringComparison.Ordinal);
        Assert.Contains(f.Path, e.Message, StringComparison.Ordinal);
        Assert.False(f.TryGetValue("no.key", out _));
        Assert.Equal("fb", f.GetString("no.key", "fb"));
        Assert.Null(f.GetString("no.key"));
        Assert.Equal(-7, f.GetInt64("no.key", -7));
        Assert.Equal(-8, f.GetInt32("no.key", -8));
        Assert.Equal(0.5f, f.GetSingle("no.key", 0.5f));
        Assert.True(f.GetBool("no.key", true));
    }

    [Fact]
    public void GetterOfTheWrongTypeNamesKeyAndType()
    {
        using var f = GgufFile.Open(_files.WriteBytes("wrongtype.gguf", SmallValidFile()));
        var e = Assert.Throws<GgufException>(() => f.GetInt32("general.architecture", 0));
        Assert.Contains("'general.architecture'", e.Message, StringComparison.Ordinal);
        Assert.Contains("String", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<GgufException>(() => f.GetString("llama.block_count"));
        Assert.Contains("UInt32", e.Message, StringComparison.Ordinal);
        Assert.Throws<GgufException>(() => f.GetBool("tokenizer.ggml.tokens", false));
    }

    /// <summary>Deterministic fuzzing of the header parser in memory: it must succeed or throw GgufException.</summary>
    [Fact]
    public unsafe void MutatedHeadersSucceedOrThrowGgufException()
    {
        var valid = SmallValidFile();
        var rng = new Random(20240611);
        var sw = Stopwatch.StartNew();
        int ok = 0, failed = 0;
        for (int iter = 0; iter < 20000; iter++)
        {
            var bytes = (byte[])valid.Clone();
            int edits = 1 + rng.Next(4);
            for (int e = 0; e < edits; e++)
            {
                int at = rng.Next(bytes.Length);
                switch (rng.Next(4))
                {
                    case 0: bytes[at] = (byte)rng.Next(256); break;
                    case 1: bytes[at] ^= (byte)(1 << rng.Next(8)); break;
                    case 2: bytes[at] = 0xFF; break;
                    default: bytes[at] = 0; break;
                }
            }
            int len = rng.Next(8) == 0 ? rng.Next(bytes.Length + 1) : bytes.Length;
            fixed (byte* p = bytes)
            {
                try
                {
                    var h = GgufParser.Parse(p, len, "fuzz.gguf");
                    foreach (var t in h.Tensors) Assert.True(h.DataStart + t.Offset + t.ByteSize <= len);
                    ok++;
                }
                catch (GgufException ex)
                {
                    Assert.StartsWith("fuzz.gguf: ", ex.Message, StringComparison.Ordinal);
                    failed++;
                }
            }
        }
        Assert.True(ok > 0 && failed > 0, $"ok {ok} failed {failed}");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }

    /// <summary>The same through <see cref="GgufFile.Open"/> on disk (fewer iterations: each one writes a file).</summary>
    [Fact]
    public void MutatedFilesSucceedOrThrowGgufException()
    {
        var valid = SmallValidFile();
        var rng = new Random(7);
        string path = _files.PathOf("fuzz.gguf");
        for (int iter = 0; iter < 500; iter++)
        {
            var bytes = (byte[])valid.Clone();
            for (int e = 0; e < 3; e++) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            File.WriteAllBytes(path, bytes);
            try
            {
                using var f = GgufFile.Open(path);
                foreach (var t in f.Tensors) Assert.Equal(t.ByteSize, f.GetTensorSpan(t).Length);
                foreach (var (_, v) in f.Metadata) _ = v.ToString();
            }
            catch (GgufException ex)
            {
                Assert.Contains(path, ex.Message, StringComparison.Ordinal);
            }
        }
    }
}
