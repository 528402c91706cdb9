using BenchmarkDotNet.Running;

namespace Whale.Bench;

/// <summary>
/// <c>compare</c>: Whale vs llama.cpp on a GGUF file (see <see cref="Comparison"/>).
/// <c>kernels</c>: BenchmarkDotNet micro-benchmarks of the kernels (arguments go to BenchmarkSwitcher).
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "compare") return Comparison.Run(args[1..]);
        if (args.Length > 0 && args[0] == "kernels")
        {
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..], Kernels.KernelConfig.Create());
            return 0;
        }
        Console.Error.WriteLine("usage: Whale.Bench compare --model FILE [-t 1,2] [-p 512] [-n 128] [-r 3] [-d 0] [-fa auto|on|off]");
        Console.Error.WriteLine("       Whale.Bench kernels [BenchmarkDotNet options, e.g. --filter '*MatVec*']");
        return 2;
    }
}
