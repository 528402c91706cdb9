using Whale.Gguf;

namespace Whale.Tests.Gguf;

public sealed class GgufSplitTests : IDisposable
{
    private readonly GgufTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static GgufWriter FiveTensors(out Dictionary<string, byte[]> data, uint alignment = 32)
    {
        var w = new GgufWriter { Alignment = alignment };
        w.SetString("general.architecture", "llama");
        w.SetUInt32("llama.block_count", 5);
        w.Set("tokenizer.ggml.tokens", GgufValue.FromStringArray(["x", "y"]));
        data = [];
        var rng = new Random(5);
        for (int i = 0; i < 5; i++)
        {
            var b = new byte[4 * (i + 3)];
            rng.NextBytes(b);
            data[$"blk.{i}.w"] = b;
            w.AddTensor($"blk.{i}.w", GgmlType.F32, [i + 3], b);
        }
        return w;
    }

    [Theory]
    [InlineData(32u)]
    [InlineData(64u)]
    public void SplitRoundTrip(uint alignment)
    {
        var w = FiveTensors(out var data, alignment);
        var paths = w.WriteSplit(_files.PathOf("model"), 2);
        Assert.Equal(3, paths.Count);
        Assert.Equal(_files.PathOf("model-00001-of-00003.gguf"), paths[0]);
        Assert.Equal(_files.PathOf("model-00003-of-00003.gguf"), paths[2]);

        // any shard name opens the whole set
        foreach (var p in paths)
        {
            using var f = GgufFile.Open(p);
            Assert.Equal(3, f.ShardCount);
            Assert.Equal("llama", f.Architecture);
            Assert.Equal(5, f.GetInt32("llama.block_count", 0));
            Assert.Equal(0, f.GetInt32("split.no", -1));
            Assert.Equal(3, f.GetInt32("split.count", 0));
            Assert.Equal(5, f.GetInt32("split.tensors.count", 0));
            Assert.Equal(GgufValueType.UInt16, f.GetValue("split.count").Type);
            Assert.Equal(GgufValueType.Int32, f.GetValue("split.tensors.count").Type);
            Assert.Equal(5, f.Tensors.Count);
            for (int i = 0; i < 5; i++)
            {
                var t = f.GetTensor($"blk.{i}.w");
                Assert.Equal(i / 2, t.Shard);
                Assert.Equal(data[t.Name], f.GetTensorSpan(t).ToArray());
            }
        }

    }

    [Fact]
    public void SecondShardHoldsOnlySplitKeys()
    {
        var w = FiveTensors(out _);
        var paths = w.WriteSplit(_files.PathOf("m"), 2);
        unsafe
        {
            var bytes = File.ReadAllBytes(paths[1]);
            fixed (byte* p = bytes)
            {
                var h = GgufParser.Parse(p, bytes.Length, paths[1], 1);
                Assert.Equal(new[] { "split.no", "split.count", "split.tensors.count" }, h.Metadata.Keys.ToArray());
                Assert.Equal(1, h.Metadata["split.no"].AsInt32());
                Assert.Equal(new[] { "blk.2.w", "blk.3.w" }, h.Tensors.Select(t => t.Name));
                Assert.All(h.Tensors, t => Assert.Equal(1, t.Shard));
            }
        }
    }

    [Fact]
    public void RenamedShardWithSplitCountRefusesToOpenAlone()
    {
        var w = FiveTensors(out _);
        var paths = w.WriteSplit(_files.PathOf("r"), 2);
        string lone = _files.WriteBytes("lone.gguf", File.ReadAllBytes(paths[0]));
        GgufTestFiles.OpenFails(lone, "split.count = 3");
    }

    [Fact]
    public void SingleShardSplit()
    {
        var w = FiveTensors(out var data);
        var paths = w.WriteSplit(_files.PathOf("one"), 100);
        Assert.Single(paths);
        using var f = GgufFile.Open(paths[0]);
        Assert.Equal(1, f.ShardCount);
        Assert.Equal(5, f.Tensors.Count);
        Assert.Equal(data["blk.4.w"], f.GetTensorSpan(f.GetTensor("blk.4.w")).ToArray());
    }

    [Fact]
    public void MissingShardIsNamed()
    {
        var w = FiveTensors(out _);
        var paths = w.WriteSplit(_files.PathOf("gone"), 2);
        File.Delete(paths[1]);
        var e = Assert.Throws<GgufException>(() => GgufFile.Open(paths[0]));
        Assert.Contains("missing split shard 2 of 3", e.Message, StringComparison.Ordinal);
        Assert.Contains(paths[1], e.Message, StringComparison.Ordinal);
        // the shards opened before the failure were released
        File.Delete(paths[0]);
        File.Delete(paths[2]);
    }

    [Fact]
    public void SplitCountMismatch()
    {
        var w = FiveTensors(out _);
        var paths = w.WriteSplit(_files.PathOf("cnt"), 2);
        // pretend there are only 2 shards: rename the first two
        string a = _files.PathOf("two-00001-of-00002.gguf"), b = _files.PathOf("two-00002-of-00002.gguf");
        File.Copy(paths[0], a);
        File.Copy(paths[1], b);
        var e = Assert.Throws<GgufException>(() => GgufFile.Open(a));
        Assert.Contains("split.count is 3", e.Message, StringComparison.Ordinal);
        Assert.Contains(a, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TotalTensorCountMismatch()
    {
        var w = FiveTensors(out _);
        var paths = w.WriteSplit(_files.PathOf("tot"), 2);
        var bytes = File.ReadAllBytes(paths[0]);
        int at = GgufTestFiles.Find(bytes, "split.tensors.count") + "split.tensors.count".Length + 4;
        GgufTestFiles.PutU32(bytes, at, 6);
        File.WriteAllBytes(paths[0], bytes);
        var e = Assert.Throws<GgufException>(() => GgufFile.Open(paths[0]));
        Assert.Contains("hold 5 tensors but split.tensors.count is 6", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SingleFileNamedLikeAShardWithoutSplitKeysOpens()
    {
        var w = FiveTensors(out _);
        string p = _files.PathOf("plain-00001-of-00001.gguf");
        w.Write(p);
        using var f = GgufFile.Open(p);
        Assert.Equal(5, f.Tensors.Count);
    }

    [Fact]
    public void ShardWithoutSplitKeys()
    {
        var w = FiveTensors(out _);
        string p1 = _files.PathOf("plain-00001-of-00002.gguf"), p2 = _files.PathOf("plain-00002-of-00002.gguf");
        w.Write(p1);
        w.Write(p2);
        var e = Assert.Throws<GgufException>(() => GgufFile.Open(p1));
        Assert.Contains("lacks metadata key 'split.count'", e.Message, StringComparison.Ordinal);
        Assert.Contains(p1, e.Message, StringComparison.Ordinal);
    }
}
