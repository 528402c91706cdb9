namespace Whale.Training;

/// <summary>Placeholder.</summary>
public static class TrainingCli
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => 0;
}
