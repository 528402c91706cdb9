using System.CommandLine;
using Whale.Cli.Commands;

namespace Whale.Cli;

/// <summary>The <c>whale</c> command line: run, chat, serve, bench, synth, inspect, train. Callable in-process with any writers (tests).</summary>
public static class WhaleCli
{
    /// <summary>Parses and runs; returns the exit code (0 success, 1 error, 2 usage).</summary>
    public static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var io = new CliIo(stdin, stdout, stderr);
        var root = new RootCommand("Whale: run DeepSeek models (GGUF) on CPU")
        {
            RunCommand.Create(io),
            ChatCommand.Create(io),
            InspectCommand.Create(io),
            SynthCommand.Create(io),
            ServeCommand.Create(io),
            BenchCommand.Create(io),
            TrainCommand.Create(io),
        };
        var parse = root.Parse(args);
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            int rc = parse.Invoke(config);
            return parse.Errors.Count > 0 ? 2 : rc;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            stderr.WriteLine($"error: {Flatten(e)}");
            return 1;
        }
    }

    private static string Flatten(Exception e)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerExceptions[0];
        return e.Message.ReplaceLineEndings(" ");
    }
}
