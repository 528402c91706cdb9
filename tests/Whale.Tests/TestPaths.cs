namespace Whale.Tests;

/// <summary>Locations of shared fixtures (../shared beside the repository).</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Shared { get; } = Environment.GetEnvironmentVariable("WHALE_SHARED")
        ?? Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    private static string FindRepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Whale.sln")))
            dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("Whale.sln not found above " + AppContext.BaseDirectory);
    }
}
