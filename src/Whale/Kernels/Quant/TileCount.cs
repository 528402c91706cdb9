using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Whale.Kernels.Quant;

/// <summary>
/// Compile-time counts for register tiles: a kernel generic over <see cref="ICount"/> is specialized by the JIT per
/// implementing struct, so <c>if (TC.N > 2)</c> branches vanish and each tile width gets its own straight-line code.
/// </summary>
internal static unsafe class TileCount
{
    /// <summary>
    /// The end of every row-lane tile: the first <c>TC.N</c> of eight 8-output accumulators stored as rows
    /// <paramref name="y"/>, <paramref name="y"/> + <paramref name="stride"/>, ...
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TC>(float* y, long stride, Vector256<float> c0, Vector256<float> c1, Vector256<float> c2, Vector256<float> c3,
        Vector256<float> c4, Vector256<float> c5, Vector256<float> c6, Vector256<float> c7)
        where TC : struct, ICount
    {
        c0.Store(y);
        if (TC.N > 1) c1.Store(y + stride);
        if (TC.N > 2) c2.Store(y + 2 * stride);
        if (TC.N > 3) c3.Store(y + 3 * stride);
        if (TC.N > 4) c4.Store(y + 4 * stride);
        if (TC.N > 5) c5.Store(y + 5 * stride);
        if (TC.N > 6) c6.Store(y + 6 * stride);
        if (TC.N > 7) c7.Store(y + 7 * stride);
    }

    public interface ICount
    {
        static abstract int N { get; }
    }

    public struct One : ICount { public static int N => 1; }
    public struct Two : ICount { public static int N => 2; }
    public struct Three : ICount { public static int N => 3; }
    public struct Four : ICount { public static int N => 4; }
    public struct Five : ICount { public static int N => 5; }
    public struct Six : ICount { public static int N => 6; }
    public struct Seven : ICount { public static int N => 7; }
    public struct Eight : ICount { public static int N => 8; }
}
