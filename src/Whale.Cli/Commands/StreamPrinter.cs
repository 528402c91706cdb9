using Whale.Engine;

namespace Whale.Cli.Commands;

/// <summary>Writes a generation as it streams: the answer to stdout, the reasoning between think tags to stderr.</summary>
internal sealed class StreamPrinter(CliIo io)
{
    private bool _inThink;

    /// <summary>Writes one event; returns the answer text it carried.</summary>
    public string Write(TokenEvent ev)
    {
        if (ev.Reasoning.Length > 0)
        {
            if (!_inThink) { io.Err.Write("<think>"); _inThink = true; }
            io.Err.Write(ev.Reasoning);
        }
        if (ev.Content.Length > 0)
        {
            CloseThink();
            io.Out.Write(ev.Content);
            io.Out.Flush();
        }
        return ev.Content;
    }

    /// <summary>Ends the output of one answer.</summary>
    public void Finish()
    {
        CloseThink();
        io.Out.WriteLine();
        io.Out.Flush();
    }

    private void CloseThink()
    {
        if (!_inThink) return;
        io.Err.WriteLine("</think>");
        _inThink = false;
    }
}
