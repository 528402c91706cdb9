using Spectre.Console;

namespace Whale.Cli.Commands;

/// <summary>Shows a progress bar on stderr while a model loads (only when stderr is a terminal).</summary>
internal static class LoadProgress
{
    public static T Run<T>(CliIo io, string path, Func<IProgress<double>?, T> load)
    {
        if (io.Err != Console.Error || Console.IsErrorRedirected)
            return load(null);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        console.Progress().AutoClear(true).Start(ctx =>
        {
            var task = ctx.AddTask($"loading {System.IO.Path.GetFileName(path)}", maxValue: 1.0);
            result = load(new Progress<double>(v => task.Value = v));
        });
        return result;
    }
}
