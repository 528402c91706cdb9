namespace Whale.Cli;

/// <summary>The streams a command talks to: answers on stdout, everything else on stderr.</summary>
public sealed record CliIo(TextReader In, TextWriter Out, TextWriter Err);
