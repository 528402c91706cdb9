using BenchmarkDotNet.Running;

namespace Whale.Bench;

/// <summary>
/// <c>compare</c>: Whale vs llama.cpp on a GGUF file (see <see cref="Comparison"/>).
/// <c>kernels</c>: BenchmarkDotNet micro-benchmarks of the kernels (arguments go to BenchmarkSwitcher).
/// <c>tiles</c>: row-dot loop vs tiled kernels, one thread, GMAC/s from thread CPU time (see Kernels.TileProbe).
/// <c>gemv</c>: row-dot loop vs the batch-1 K-quant kernels, hot and from memory (see Kernels.GemvProbe).
/// <c>decode-profile</c>: the weight products of one decode step, per tensor role (see Kernels.DecodeProfile).
/// <c>q8ab</c>: old vs new Q8_0 kernel in process CPU time (see <see cref="Kernels.Q8_0TileAb"/>).
/// <c>kab</c>: K-quant products in place vs repacked, one thread (see <see cref="Kernels.KQuantRepackAb"/>).
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "compare") return Comparison.Run(args[1..]);
        if (args.Length > 0 && args[0] == "tiles") return Kernels.TileProbe.Run(args[1..]);
        if (args.Length > 0 && args[0] == "gemv") return Kernels.GemvProbe.Run(args[1..]);
        if (args.Length > 0 && args[0] == "decode-profile") return Kernels.DecodeProfile.Run(args[1..]);
        if (args.Length > 0 && args[0] == "kernels")
        {
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..], Kernels.KernelConfig.Create());
            return 0;
        }
        if (args.Length > 0 && args[0] == "q8ab") return Kernels.Q8_0TileAb.Run(args[1..]);
        if (args.Length > 0 && args[0] == "kab") return Kernels.KQuantRepackAb.Run(args[1..]);
        Console.Error.WriteLine("usage: Whale.Bench compare --model FILE [-t 1,2] [-p 512] [-n 128] [-r 3] [-d 0] [-fa auto|on|off]");
        Console.Error.WriteLine("       Whale.Bench kernels [BenchmarkDotNet options, e.g. --filter '*MatVec*']");
        Console.Error.WriteLine("       Whale.Bench tiles [TYPES e.g. Q4_K,F16] [SHAPES e.g. 1536x1536,8960x1536] [BATCHES e.g. 16,512] [REPS]");
        Console.Error.WriteLine("       Whale.Bench gemv [TYPES e.g. Q4_K,Q6_K] [SHAPES e.g. 1536x1536] [REPS] [COLD_MIB] [BATCH 1, or 2-4: tiles vs small-batch]");
        Console.Error.WriteLine("       Whale.Bench decode-profile MODEL.gguf [THREADS] [STEPS]");
        Console.Error.WriteLine("       Whale.Bench q8ab [cols 1536] [rows 1536] [batches 1,4,16,64,512]");
        Console.Error.WriteLine("       Whale.Bench kab [TYPES Q4_K,Q6_K] [SHAPES 1536x1536,8960x1536] [BATCHES 1,4,16,64,512] [REPS 5] [COLD_MIB 640]");
        return 2;
    }
}
