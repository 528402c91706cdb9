namespace Whale.Kernels.Quant;

/// <summary>
/// Compile-time counts for register tiles: a kernel generic over <see cref="ICount"/> is specialized by the JIT per
/// implementing struct, so <c>if (TC.N > 2)</c> branches vanish and each tile width gets its own straight-line code.
/// </summary>
internal static class TileCount
{
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
