using Whale.Cli;

namespace Whale.Tests.Cli;

/// <summary>Runs the whale CLI in-process with captured streams.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) RunWithInput(string stdin, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = WhaleCli.Run(args, new StringReader(stdin), o, e);
        return (code, o.ToString(), e.ToString());
    }

    public static (int Code, string Out, string Err) Run(params string[] args) => RunWithInput("", args);
}
