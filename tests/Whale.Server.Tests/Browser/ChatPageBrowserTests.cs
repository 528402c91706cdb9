using System.Diagnostics;
using System.Text;
using Whale.Engine;
using Whale.Server.Hosting;
using Whale.Server.Tests.TestData;
using Xunit.Abstractions;

namespace Whale.Server.Tests.Browser;

/// <summary>
/// The chat page in real headless Chromium, driven by Playwright (web/e2e/*.test.mjs under Node's test runner)
/// against real servers on 127.0.0.1: one without keys serving "scripted" (exact text, see
/// <see cref="ScriptedEngine"/>), "tiny" (the synthetic R1-Distill model) and "stories" (no chat template) and "whale-r1-tiny" (the shipped default model), with its
/// conversations in a temporary SQLite file; one that requires an API key. Screenshots go to artifacts/browser/.
/// </summary>
[Collection(SerialCollection.Name)]
public class ChatPageBrowserTests(ITestOutputHelper output)
{
    [BrowserFact]
    public async Task ChatPageWorksInChromium()
    {
        if (BrowserEnvironment.Missing() is { } missing) Assert.Fail("browser tests cannot run: missing " + missing);
        string db = Path.Combine(Path.GetTempPath(), $"whale-browser-{Guid.NewGuid():N}.db");
        var tiny = WhaleModel.Load(TestModels.TinyR1, new ModelOptions { Threads = 1 });
        var stories = WhaleModel.Load(TestModels.Stories, new ModelOptions { Threads = 1 });
        var shipped = WhaleModel.Load(TestModels.Default, new ModelOptions { Threads = 1 });
        var scripted = new ScriptedEngine(tiny, TimeSpan.FromMilliseconds(35));
        var keyedScripted = new ScriptedEngine(tiny, TimeSpan.FromMilliseconds(10));
        var tinyEngine = new SerialEngine(tiny, new SerialEngineOptions { Parallel = 1, ContextSize = 512 });
        var storiesEngine = new SerialEngine(stories, new SerialEngineOptions { Parallel = 1 });
        var shippedEngine = new SerialEngine(shipped, new SerialEngineOptions { Parallel = 1 });
        var open = WhaleServer.Create(new WhaleServerOptions { Port = 0, DatabasePath = db },
            [new ServedModel("scripted", tiny, scripted), new ServedModel("tiny", tiny, tinyEngine), new ServedModel("stories", stories, storiesEngine),
             new ServedModel("whale-r1-tiny", shipped, shippedEngine)]);
        var keyed = WhaleServer.Create(new WhaleServerOptions { Port = 0, ApiKeys = ["test-key"] }, [new ServedModel("scripted", tiny, keyedScripted)]);
        try
        {
            await open.StartAsync();
            await keyed.StartAsync();
            string artifacts = Path.Combine(BrowserEnvironment.RepoRoot, "artifacts", "browser");
            Directory.CreateDirectory(artifacts);
            var (code, log) = await RunNodeAsync(open.Urls[0], keyed.Urls[0], artifacts, TimeSpan.FromMinutes(4));
            output.WriteLine(log);
            await File.WriteAllTextAsync(Path.Combine(artifacts, "e2e.log"), log);
            Assert.True(code == 0, $"the browser tests failed (exit {code}); see the output above and artifacts/browser/");
        }
        finally
        {
            await keyed.DisposeAsync();
            await open.DisposeAsync();
            await tinyEngine.DisposeAsync();
            await storiesEngine.DisposeAsync();
            await shippedEngine.DisposeAsync();
            tiny.Dispose();
            stories.Dispose();
            shipped.Dispose();
            foreach (var f in new[] { db, db + "-wal", db + "-shm" }) File.Delete(f);
        }
    }

    private static async Task<(int Code, string Log)> RunNodeAsync(string url, string keyedUrl, string artifacts, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(BrowserEnvironment.FindOnPath("node")!)
        {
            WorkingDirectory = BrowserEnvironment.WebDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--test", "--test-reporter=spec", "--test-concurrency=1", "e2e/" }) psi.ArgumentList.Add(a);
        psi.Environment["WHALE_URL"] = url;
        psi.Environment["WHALE_KEYED_URL"] = keyedUrl;
        psi.Environment["WHALE_KEY"] = "test-key";
        psi.Environment["WHALE_ARTIFACTS"] = artifacts;
        psi.Environment["WHALE_CHROMIUM"] = BrowserEnvironment.Chromium;
        using var process = Process.Start(psi)!;
        var log = new StringBuilder();
        var lk = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (lk) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (lk) log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            lock (lk) log.AppendLine($"(killed after {timeout.TotalSeconds} s)");
            return (-1, log.ToString());
        }
        process.WaitForExit();
        lock (lk) return (process.ExitCode, log.ToString());
    }
}
