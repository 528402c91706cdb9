using System.CommandLine;
using System.Diagnostics;

namespace Whale.Cli.Commands;

/// <summary>
/// <c>whale train ...</c>: runs the training recipe (src/Whale.Training) as a separate process, so the inference CLI
/// never loads TorchSharp/libtorch. Looks for Whale.Training.dll in WHALE_TRAINING_DLL, then beside this app, then
/// builds and runs the project of the repository this app lives in. Arguments are passed through unchanged
/// (<c>whale train --recipe smoke</c>, <c>whale train eval --model m.gguf</c>).
/// </summary>
internal static class TrainCommand
{
    public static Command Create(CliIo io)
    {
        var cmd = new Command("train", "Train the default model (pretrain -> SFT -> GRPO -> GGUF -> qwen2 distillation), distill a GGUF or score one: whale train [distill|eval] [options]; see docs/TRAINING.md")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        cmd.SetAction(r => Run([.. r.UnmatchedTokens], io));
        return cmd;
    }

    private static int Run(string[] args, CliIo io)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        string? dll = Environment.GetEnvironmentVariable("WHALE_TRAINING_DLL");
        if (string.IsNullOrEmpty(dll)) dll = Path.Combine(AppContext.BaseDirectory, "Whale.Training.dll");
        if (File.Exists(dll))
        {
            psi.ArgumentList.Add(dll);
        }
        else
        {
            string project = FindProject() ?? throw new InvalidOperationException(
                "Whale.Training was not found: build it (dotnet build src/Whale.Training -c Release) or set WHALE_TRAINING_DLL");
            foreach (var a in new[] { "run", "-c", "Release", "--project", project, "--" }) psi.ArgumentList.Add(a);
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet");
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (io) io.Out.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (io) io.Err.WriteLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        p.WaitForExit();
        return p.ExitCode;
    }

    private static string? FindProject()
    {
        for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            string csproj = Path.Combine(dir, "src", "Whale.Training", "Whale.Training.csproj");
            if (File.Exists(csproj)) return csproj;
        }
        return null;
    }
}
