namespace Whale.Server.Contracts;

/// <summary>The function of a tool call: name and JSON arguments text.</summary>
internal sealed class FunctionCallDto
{
    public string? Name { get; set; }
    public string? Arguments { get; set; }
}
