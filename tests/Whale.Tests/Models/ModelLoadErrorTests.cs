using Whale.Engine;
using Whale.Gguf;
using Whale.Tests.TestData;

namespace Whale.Tests.Models;

/// <summary>Files that parse as GGUF but cannot be run: each gives a clear error naming the problem, and leaks nothing.</summary>
public class ModelLoadErrorTests
{
    private static string Rewrite(string name, Action<GgufWriter> editMetadata, Func<GgufTensorInfo, bool>? keep = null, Func<GgufTensorInfo, (GgmlType, long[], byte[])?>? replace = null)
    {
        string src = SyntheticModels.Get("qwen2", GgmlType.F32);
        string dst = Path.Combine(Path.GetTempPath(), $"whale-bad-{name}-{Environment.ProcessId}.gguf");
        using (var f = GgufFile.Open(src))
        {
            var w = new GgufWriter();
            foreach (var (k, v) in f.Metadata) w.Set(k, v);
            editMetadata(w);
            foreach (var t in f.Tensors)
            {
                if (keep is not null && !keep(t)) continue;
                if (replace?.Invoke(t) is { } r) { w.AddTensor(t.Name, r.Item1, r.Item2, r.Item3); continue; }
                w.AddTensor(t.Name, t.Type, t.Shape, f.GetTensorSpan(t).ToArray());
            }
            w.Write(dst);
        }
        return dst;
    }

    private static Exception LoadFails(string path)
    {
        try
        {
            var e = Record.Exception(() => WhaleModel.Load(path, new ModelOptions { Threads = 1 }).Dispose());
            Assert.NotNull(e);
            Assert.True(e is GgufException or NotSupportedException, e.GetType().Name + ": " + e.Message);
            return e;
        }
        finally
        {
            // the file must not stay mapped or locked after a failed load
            File.Delete(path);
            Assert.False(File.Exists(path));
        }
    }

    [Fact]
    public void UnknownArchitecture()
    {
        var e = LoadFails(Rewrite("arch", w => w.SetString("general.architecture", "mamba9")));
        Assert.Contains("unsupported architecture 'mamba9'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingTensor()
    {
        var e = LoadFails(Rewrite("missing", _ => { }, keep: t => t.Name != "blk.1.ffn_down.weight"));
        Assert.Contains("missing tensor 'blk.1.ffn_down.weight'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShapeMismatch()
    {
        var e = LoadFails(Rewrite("shape", w => w.SetUInt32("qwen2.feed_forward_length", 768)));
        Assert.Contains("ffn_gate.weight' has shape [256, 512], expected [256, 768]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingMetadataKey()
    {
        var e = LoadFails(Rewrite("key", _ => { }, keep: null) is var p ? RemoveKey(p, "qwen2.block_count") : "");
        Assert.Contains("qwen2.block_count", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TensorTypeWhaleDoesNotCompute()
    {
        // Q2_K has a known layout (the file parses) but no kernels here.
        var e = LoadFails(Rewrite("q2k", _ => { }, replace: t => t.Name == "blk.0.attn_q.weight"
            ? (GgmlType.Q2_K, t.Shape, new byte[GgmlTypeTraits.RowBytes(GgmlType.Q2_K, t.Shape[0]) * t.Shape[1]]) : null));
        Assert.Contains("'blk.0.attn_q.weight' has type Q2_K", e.Message, StringComparison.Ordinal);
    }

    private static string RemoveKey(string path, string key)
    {
        string dst = path + ".nokey.gguf";
        using (var f = GgufFile.Open(path))
        {
            var w = new GgufWriter();
            foreach (var (k, v) in f.Metadata) if (k != key) w.Set(k, v);
            foreach (var t in f.Tensors) w.AddTensor(t.Name, t.Type, t.Shape, f.GetTensorSpan(t).ToArray());
            w.Write(dst);
        }
        File.Delete(path);
        return dst;
    }
}
