namespace Whale.Server.Contracts;

/// <summary>An assistant tool call in the request history.</summary>
internal sealed class ToolCallDto
{
    public string? Id { get; set; }
    public string? Type { get; set; }
    public FunctionCallDto? Function { get; set; }
}
