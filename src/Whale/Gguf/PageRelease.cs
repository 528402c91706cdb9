using System.Runtime.InteropServices;

namespace Whale.Gguf;

/// <summary>
/// Drops clean, file-backed mapped pages from the resident set (Linux <c>madvise(MADV_DONTNEED)</c>; elsewhere
/// nothing): used after weights were copied (repacked), so that resident memory holds one copy. The mapping stays
/// valid: a later read maps the pages in again from the file.
/// </summary>
internal static unsafe partial class PageRelease
{
    private const int MadvDontNeed = 4;

    /// <summary>Releases the whole pages inside [p, p + length); returns the bytes released (0 off Linux or on failure).</summary>
    public static long Release(byte* p, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0) return 0;
        long page = Environment.SystemPageSize;
        long start = ((long)p + page - 1) & ~(page - 1);
        long end = ((long)p + length) & ~(page - 1);
        if (end <= start) return 0;
        return Madvise((nint)start, (nuint)(end - start), MadvDontNeed) == 0 ? end - start : 0;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
