namespace Whale.Cli;

internal static class Program
{
    private static int Main(string[] args) => WhaleCli.Run(args, Console.In, Console.Out, Console.Error);
}
