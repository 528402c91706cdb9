using System.Text.Json;
using Whale.Server.Errors;

namespace Whale.Server.Contracts;

/// <summary>Parsing request bodies: snake_case names, strict types, errors that say where.</summary>
internal static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        PropertyNameCaseInsensitive = false,
        MaxDepth = 64,
    };

    public static T Parse<T>(ReadOnlySpan<byte> body) where T : class
    {
        if (body.IsEmpty) throw ApiException.BadRequest("the request body is empty; expected a JSON object");
        if (!System.Text.Unicode.Utf8.IsValid(body)) throw ApiException.BadRequest("Invalid request body: the text is not valid UTF-8");
        try
        {
            return JsonSerializer.Deserialize<T>(body, Options) ?? throw ApiException.BadRequest("the request body is null; expected a JSON object");
        }
        catch (JsonException e)
        {
            string where = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" at {e.Path}";
            string what = e.Message.Contains("could not be converted", StringComparison.Ordinal) ? "a value has the wrong type" : "malformed JSON";
            throw ApiException.BadRequest($"Invalid request body: {what}{where} (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})", e.Path?.TrimStart('$', '.'));
        }
        catch (ArgumentException)
        {
            throw ApiException.BadRequest("Invalid request body: the text is not valid UTF-8 JSON");
        }
    }
}
