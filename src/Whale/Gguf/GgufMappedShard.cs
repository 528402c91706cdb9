using System.IO.MemoryMappedFiles;

namespace Whale.Gguf;

/// <summary>
/// One GGUF file mapped read-only with its parsed header. The view pointer is acquired once and released in
/// <see cref="Dispose"/>; a failed <see cref="Open"/> releases everything it took before throwing.
/// </summary>
internal sealed unsafe class GgufMappedShard : IDisposable
{
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private byte* _base;

    private GgufMappedShard(string path) { Path = path; }

    public string Path { get; }
    public long Length { get; private set; }
    public GgufHeader Header { get; private set; } = null!;

    /// <summary>First byte of the file in the mapping; null after Dispose.</summary>
    public byte* Base => _base;

    public static GgufMappedShard Open(string path, int shard)
    {
        var s = new GgufMappedShard(path);
        try
        {
            FileStream fs;
            try
            {
                fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.None);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw new GgufException($"{path}: cannot open: {e.Message}", e);
            }
            long length;
            try
            {
                length = fs.Length;
                if (length == 0) throw new GgufException($"{path}: file is empty (0 bytes), not a GGUF file");
                s._map = MemoryMappedFile.CreateFromFile(fs, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            }
            catch
            {
                fs.Dispose();
                throw;
            }
            s._view = s._map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            s._view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            s._base = p + s._view.PointerOffset;
            s.Length = length;
            s.Header = GgufParser.Parse(s._base, length, path, shard);
            return s;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            s.Dispose();
            throw new GgufException($"{path}: cannot map: {e.Message}", e);
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (_base != null)
        {
            _base = null;
            _view!.SafeMemoryMappedViewHandle.ReleasePointer();
        }
        _view?.Dispose();
        _view = null;
        _map?.Dispose();
        _map = null;
    }
}
