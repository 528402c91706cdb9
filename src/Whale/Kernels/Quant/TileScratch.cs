using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Whale.Kernels.Quant;

/// <summary>
/// The per-thread scratch of the Q8_0 tile kernels (prepared activations, packed weights, partial tiles): one pinned
/// buffer per thread, grown on demand and then reused, so products allocate nothing after the first calls. A kernel
/// holds it only during one call and calls no other kernel meanwhile.
/// </summary>
internal static unsafe class TileScratch
{
    [ThreadStatic] private static byte[]? t_buffer;

    /// <summary>At least <paramref name="bytes"/> bytes, 64-byte aligned, valid until this thread asks again.</summary>
    public static byte* Get(long bytes)
    {
        var s = t_buffer;
        if (s is null || s.Length < bytes + 64)
            t_buffer = s = GC.AllocateUninitializedArray<byte>((int)Math.Max(bytes + 64, 64 << 10), pinned: true);
        byte* p = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(s));
        return (byte*)(((nint)p + 63) & ~(nint)63);
    }
}
