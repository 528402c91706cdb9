using System.CommandLine;

namespace Whale.Cli.Commands;

/// <summary><c>whale synth</c>: writes a synthetic GGUF model (seeded random weights, real vocabulary).</summary>
internal static class SynthCommand
{
    public static Command Create(CliIo io)
    {
        var cmd = new Command("synth", "Write a synthetic GGUF model");
        cmd.SetAction(r => { io.Err.WriteLine("synth: not built yet"); return 1; });
        return cmd;
    }
}
