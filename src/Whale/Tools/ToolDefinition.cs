using System.Text.Json;

namespace Whale.Tools;

/// <summary>A function the model may call.</summary>
/// <param name="Name">The function name (<c>a-zA-Z0-9_-</c>, at most 64 characters).</param>
/// <param name="Description">What it does (shown to the model).</param>
/// <param name="ParametersSchema">The JSON schema of its arguments (an object schema), or null for any object.</param>
/// <param name="Strict">Arguments must match the schema exactly (the schema must use the supported subset).</param>
public sealed record ToolDefinition(string Name, string? Description, JsonElement? ParametersSchema, bool Strict = false)
{
    /// <summary>True when <paramref name="name"/> is a valid function name.</summary>
    public static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
}
