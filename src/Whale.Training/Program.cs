namespace Whale.Training;

/// <summary>Entry point of <c>whale train</c> (run as its own process so the inference CLI never loads libtorch).</summary>
public static class Program
{
    public static int Main(string[] args) => TrainingCli.Run(args, Console.Out, Console.Error);
}
