namespace Whale.Server.Tests.Browser;

/// <summary>Where the browser tests find Chromium, Node.js, the built page and the Playwright scripts.</summary>
public static class BrowserEnvironment
{
    public static string RepoRoot { get; } = FindRoot();

    public static string WebDir => Path.Combine(RepoRoot, "web");

    public static string Chromium => Environment.GetEnvironmentVariable("WHALE_CHROMIUM") is { Length: > 0 } c ? c : "/usr/bin/chromium";

    /// <summary>True under CI or when asked: a missing piece is a failure, not a skip.</summary>
    public static bool Required =>
        string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase) ||
        Environment.GetEnvironmentVariable("WHALE_BROWSER_TESTS") == "1";

    /// <summary>What is missing, or null when the browser tests can run.</summary>
    public static string? Missing()
    {
        if (!File.Exists(Chromium)) return $"Chromium at {Chromium} (apt-get install chromium)";
        if (FindOnPath("node") is null) return "Node.js (node on PATH)";
        if (!File.Exists(Path.Combine(WebDir, "dist", "index.html"))) return "the built page web/dist (cd web && npm ci && npm run build)";
        if (!Directory.Exists(Path.Combine(WebDir, "node_modules", "playwright-core"))) return "playwright-core in web/node_modules (cd web && npm ci)";
        return null;
    }

    public static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static string FindRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Whale.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("Whale.sln not found above " + AppContext.BaseDirectory);
    }
}
