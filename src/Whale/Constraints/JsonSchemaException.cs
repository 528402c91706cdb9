namespace Whale.Constraints;

/// <summary>A JSON schema that is invalid or uses a keyword Whale cannot enforce (the server answers 422).</summary>
public sealed class JsonSchemaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public JsonSchemaException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public JsonSchemaException() { }

    /// <summary>Creates the exception.</summary>
    public JsonSchemaException(string message, Exception inner) : base(message, inner) { }
}
