namespace Whale.Server.Tests.Browser;

/// <summary>
/// A fact that needs Chromium, Node.js and the built chat page (web/dist, web/node_modules). When one is missing it
/// is skipped on a developer's machine, but fails under CI (CI=true) or WHALE_BROWSER_TESTS=1, so CI cannot pass
/// without running it.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (BrowserEnvironment.Missing() is { } missing && !BrowserEnvironment.Required)
            Skip = $"browser tests need {missing} (bash .ci/run installs everything; set WHALE_BROWSER_TESTS=1 to make this a failure)";
    }
}
