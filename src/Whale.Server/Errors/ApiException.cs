namespace Whale.Server.Errors;

/// <summary>An error answered with an OpenAI-shaped body: <c>{"error":{"message","type","param","code"}}</c>.</summary>
internal sealed class ApiException(int status, string message, string? param = null, string? code = null, string? type = null)
    : Exception(message)
{
    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string Code { get; } = code ?? DefaultCode(status);
    public string Type { get; } = type ?? DefaultType(status);

    /// <summary>400: the body is not valid JSON of the expected shape (DeepSeek "Invalid Format").</summary>
    public static ApiException BadRequest(string message, string? param = null, string? code = null) => new(400, message, param, code);

    /// <summary>422: a parameter has a value out of range (DeepSeek "Invalid Parameters").</summary>
    public static ApiException Invalid(string param, string message) => new(422, message, param, "invalid_parameter");

    private static string DefaultType(int status) => status switch
    {
        401 => "authentication_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    private static string DefaultCode(int status) => status switch
    {
        401 => "invalid_api_key",
        404 => "not_found",
        413 => "request_too_large",
        429 => "rate_limit_exceeded",
        503 => "server_overloaded",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };
}
