using System.Text.Json;
using Whale.Constraints;
using Whale.Server.Contracts;
using Whale.Server.Errors;
using Whale.Tokenization;
using Whale.Tools;

namespace Whale.Server.Generation;

/// <summary>
/// <c>response_format</c>, <c>tools</c>, <c>tool_choice</c> and <c>parallel_tool_calls</c>: validated, and turned into
/// the tools for the prompt, the tool-call syntax to parse the answer with, and the grammar that constrains it.
/// </summary>
internal sealed record StructuredOutput(IReadOnlyList<ToolDefinition> Tools, ToolCallSyntax? ParseSyntax, JsonGrammar? Grammar)
{
    /// <summary>With <see cref="Grammar"/>: it applies only once the output contains this text (tool_choice auto).</summary>
    public string? Trigger { get; init; }

    public ITokenConstraint CreateConstraint(Tokenizer tok)
    {
        bool render = ParseSyntax is not null;
        return Trigger is { } t ? Grammar!.CreateTriggeredConstraint(tok, t, render) : Grammar!.CreateConstraint(tok, render);
    }

    public static StructuredOutput From(ChatCompletionRequestDto dto, ChatTemplateKind kind)
    {
        var tools = ParseTools(dto.Tools);
        var syntax = ToolCallSyntax.For(kind);
        string choice = "auto";
        string? named = null;
        var tc = dto.ToolChoice;
        switch (tc.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                choice = tools.Count > 0 ? "auto" : "none";
                break;
            case JsonValueKind.String:
                choice = tc.GetString()!;
                if (choice is not ("none" or "auto" or "required"))
                    throw ApiException.Invalid("tool_choice", $"tool_choice must be \"none\", \"auto\", \"required\" or {{\"type\":\"function\",\"function\":{{\"name\":…}}}}, got \"{choice}\"");
                break;
            case JsonValueKind.Object:
                if (!tc.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object || !f.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String)
                    throw ApiException.BadRequest("tool_choice must name a function: {\"type\":\"function\",\"function\":{\"name\":\"…\"}}", "tool_choice");
                named = n.GetString()!;
                choice = "named";
                if (!tools.Any(t => t.Definition.Name == named))
                    throw ApiException.Invalid("tool_choice", $"tool_choice names function '{named}', which is not in 'tools'");
                break;
            default:
                throw ApiException.BadRequest("tool_choice must be a string or an object", "tool_choice");
        }
        if (choice is "required" or "named" && tools.Count == 0) throw ApiException.Invalid("tool_choice", $"tool_choice \"{choice}\" needs 'tools'");

        JsonGrammar? grammar = ResponseFormat(dto.ResponseFormat);
        if (choice == "none") return new StructuredOutput([], null, grammar);
        string? trigger = null;
        if (choice is "required" or "named")
        {
            var allowed = tools.Where(t => named is null || t.Definition.Name == named).Select(t => (t.Definition.Name, t.Arguments)).ToList();
            grammar = JsonGrammar.ToolCalls(syntax, allowed, parallel: named is null && dto.ParallelToolCalls != false);
        }
        else if (grammar is null && tools.Count > 0)
        {
            // auto: free text, but a call the model starts must be well formed with valid arguments.
            grammar = JsonGrammar.ToolCalls(syntax, tools.Select(t => (t.Definition.Name, t.Arguments)).ToList(), parallel: dto.ParallelToolCalls != false);
            trigger = syntax.TriggerText;
        }
        return new StructuredOutput(tools.Select(t => t.Definition).ToList(), tools.Count > 0 ? syntax : null, grammar) { Trigger = trigger };
    }

    private static JsonGrammar? ResponseFormat(JsonElement format)
    {
        if (format.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return null;
        if (format.ValueKind != JsonValueKind.Object || !format.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            throw ApiException.BadRequest("response_format must be an object with a 'type'", "response_format");
        switch (type.GetString())
        {
            case "text": return null;
            case "json_object": return JsonGrammar.AnyObject;
            case "json_schema":
                if (!format.TryGetProperty("json_schema", out var js) || js.ValueKind != JsonValueKind.Object)
                    throw ApiException.BadRequest("response_format json_schema needs a 'json_schema' object: {\"name\":…,\"schema\":{…},\"strict\":true}", "response_format.json_schema");
                if (!js.TryGetProperty("schema", out var schema) || schema.ValueKind == JsonValueKind.Null) return JsonGrammar.AnyJson;
                try
                {
                    return JsonGrammar.FromSchema(schema);
                }
                catch (JsonSchemaException e)
                {
                    throw ApiException.Invalid("response_format.json_schema.schema", "Invalid JSON schema: " + e.Message);
                }
            default:
                throw ApiException.Invalid("response_format", $"response_format type '{type.GetString()}' is not supported (text, json_object, json_schema)");
        }
    }

    private static List<(ToolDefinition Definition, JsonGrammar Arguments)> ParseTools(JsonElement tools)
    {
        var list = new List<(ToolDefinition, JsonGrammar)>();
        if (tools.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return list;
        if (tools.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("tools must be an array", "tools");
        if (tools.GetArrayLength() > 128) throw ApiException.Invalid("tools", "at most 128 tools are allowed");
        int i = 0;
        foreach (var t in tools.EnumerateArray())
        {
            string at = $"tools[{i++}]";
            if (t.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"{at} must be an object", at);
            if (!t.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function")
                throw ApiException.BadRequest($"{at}.type must be \"function\"", at + ".type");
            if (!t.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object)
                throw ApiException.BadRequest($"{at}.function must be an object", at + ".function");
            if (!f.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String)
                throw ApiException.BadRequest($"{at}.function.name is required", at + ".function.name");
            string name = n.GetString()!;
            if (!ToolDefinition.IsValidName(name))
                throw ApiException.Invalid(at + ".function.name", $"{at}.function.name '{name}' is invalid: use a-z, A-Z, 0-9, '_' and '-', at most 64 characters");
            if (list.Any(x => x.Item1.Name == name)) throw ApiException.Invalid(at + ".function.name", $"function '{name}' is defined twice");
            string? description = null;
            if (f.TryGetProperty("description", out var d) && d.ValueKind != JsonValueKind.Null)
                description = d.ValueKind == JsonValueKind.String ? d.GetString() : throw ApiException.BadRequest($"{at}.function.description must be a string", at + ".function.description");
            bool strict = f.TryGetProperty("strict", out var s) && s.ValueKind == JsonValueKind.True;
            JsonElement? parameters = null;
            JsonGrammar args = JsonGrammar.AnyObject;
            if (f.TryGetProperty("parameters", out var p) && p.ValueKind != JsonValueKind.Null)
            {
                if (p.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"{at}.function.parameters must be a JSON schema object", at + ".function.parameters");
                if (p.TryGetProperty("type", out var pt) && !(pt.ValueKind == JsonValueKind.String && pt.GetString() == "object"))
                    throw ApiException.Invalid(at + ".function.parameters", $"{at}.function.parameters must be an object schema (\"type\": \"object\")");
                parameters = p.Clone();
                try
                {
                    args = JsonGrammar.FromSchema(p);
                }
                catch (JsonSchemaException e)
                {
                    // Strict tools must be enforceable; others fall back to "any object" when constrained.
                    if (strict) throw ApiException.Invalid(at + ".function.parameters", $"Invalid schema for function '{name}': {e.Message}");
                }
            }
            list.Add((new ToolDefinition(name, description, parameters, strict), args));
        }
        return list;
    }
}
