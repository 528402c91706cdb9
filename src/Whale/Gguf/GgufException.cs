namespace Whale.Gguf;

/// <summary>A GGUF file that cannot be used: the message names the file and the problem.</summary>
public sealed class GgufException : Exception
{
    public GgufException(string message) : base(message) { }
    public GgufException(string message, Exception inner) : base(message, inner) { }
}
