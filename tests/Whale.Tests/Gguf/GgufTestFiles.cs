using System.Text;
using Whale.Gguf;

namespace Whale.Tests.Gguf;

/// <summary>A temporary folder for GGUF test files, deleted on Dispose, plus byte-patching helpers.</summary>
internal sealed class GgufTestFiles : IDisposable
{
    public GgufTestFiles()
    {
        Dir = Path.Combine(Path.GetTempPath(), "whale-gguf-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
    }

    public string Dir { get; }

    public string PathOf(string name) => Path.Combine(Dir, name);

    public string WriteBytes(string name, byte[] bytes)
    {
        string p = PathOf(name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    public static byte[] ToBytes(GgufWriter w)
    {
        using var ms = new MemoryStream();
        w.Write(ms);
        return ms.ToArray();
    }

    /// <summary>Index of the first occurrence of <paramref name="ascii"/> in <paramref name="data"/> (asserts found).</summary>
    public static int Find(byte[] data, string ascii, int start = 0)
    {
        int i = data.AsSpan(start).IndexOf(Encoding.ASCII.GetBytes(ascii));
        Assert.True(i >= 0, $"'{ascii}' not found");
        return start + i;
    }

    public static void PutU32(byte[] data, int at, uint v) => BitConverter.TryWriteBytes(data.AsSpan(at, 4), v);
    public static void PutU64(byte[] data, int at, ulong v) => BitConverter.TryWriteBytes(data.AsSpan(at, 8), v);

    /// <summary>Opens <paramref name="path"/> expecting a GgufException whose message contains every fragment.</summary>
    public static GgufException OpenFails(string path, params string[] fragments)
    {
        var e = Assert.Throws<GgufException>(() => { using var f = GgufFile.Open(path); });
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        foreach (var s in fragments) Assert.Contains(s, e.Message, StringComparison.Ordinal);
        return e;
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
