using BenchmarkDotNet.Running;

namespace Whale.Bench;

/// <summary>
/// <c>compare</c>: Whale vs llama.cpp on a GGUF file (see <see cref="Comparison"/>).
/// <c>kernels</c>: BenchmarkDotNet micro-benchmarks of the kernels (arguments go to BenchmarkSwitcher).
/// <c>tiles</c>: row-dot loop vs tiled kernels, one thread, GMAC/s from thread CPU time (see Kernels.TileProbe).
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "compare") return Comparison.Run(args[1..]);
        if (args.Length > 0 && args[0] == "tiles") return Kernels.TileProbe.Run(args[1..]);
        if (args.Length > 0 && args[0] == "kernels")
        {
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..], Kernels.KernelConfig.Create());
            return 0;
        }
        Console.Error.WriteLine("usage: Whale.Bench compare --model FILE [-t 1,2] [-p 512] [-n 128] [-r 3] [-d 0] [-fa auto|on|off]");
        Console.Error.WriteLine("       Whale.Bench kernels [BenchmarkDotNet options, e.g. --filter '*MatVec*']");
        Console.Error.WriteLine("       Whale.Bench tiles [TYPES e.g. Q4_K,F16] [SHAPES e.g. 1536x1536,8960x1536] [BATCHES e.g. 16,512] [REPS]");
        return 2;
    }
}
