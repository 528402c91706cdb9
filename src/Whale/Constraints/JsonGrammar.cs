using System.Text.Json;
using Whale.Tokenization;

namespace Whale.Constraints;

/// <summary>
/// A compiled output grammar: any JSON value (<c>json_object</c>), a JSON schema (<c>json_schema</c>, the common
/// subset: type object/array/string/number/integer/boolean/null and lists of types, properties, required, enum,
/// const, items, additionalProperties, anyOf whose alternatives start differently, min/maxLength, min/maxItems),
/// or tool calls in a chat template's syntax. Immutable and shareable; <see cref="CreateConstraint"/> gives the
/// per-sequence state. Output is compact JSON: no whitespace except one optional space after <c>:</c> and
/// <c>,</c> (and a little before the document); numbers have at most 15 integer and 15 fraction digits.
/// </summary>
public sealed class JsonGrammar
{
    internal static readonly JsonSerializerOptions SerializerOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly HashSet<string> Annotations = ["description", "title", "$schema", "$id", "default", "examples", "$comment", "strict", "name"];
    private static readonly HashSet<string> Supported = ["type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
        "minLength", "maxLength", "minItems", "maxItems"];

    internal JsonGrammar(Node root, int leadingWhitespace)
    {
        Root = root;
        LeadingWhitespace = leadingWhitespace;
    }

    internal Node Root { get; }
    internal int LeadingWhitespace { get; }

    /// <summary>Any JSON value, objects and arrays nesting at most 20 deep (<c>response_format: json_object</c>).</summary>
    public static JsonGrammar AnyJson { get; } = new(AnyNode.Get(0), 4);

    /// <summary>Any JSON object (what <c>json_object</c> asks for).</summary>
    public static JsonGrammar AnyObject { get; } = new(new FreeObjectNode(AnyNode.Get(1)), 4);

    /// <summary>Compiles a JSON schema.</summary>
    /// <exception cref="JsonSchemaException">The schema is invalid or uses an unsupported keyword.</exception>
    public static JsonGrammar FromSchema(JsonElement schema) => new(Compile(schema, "schema", 0), 4);

    /// <summary>Compiles a JSON schema given as text.</summary>
    public static JsonGrammar FromSchema(string schemaJson)
    {
        using var doc = JsonDocument.Parse(schemaJson);
        return FromSchema(doc.RootElement);
    }

    /// <summary>
    /// Tool calls in <paramref name="syntax"/>: one call (several when <paramref name="parallel"/>) to one of
    /// <paramref name="tools"/>, arguments matching the tool's grammar.
    /// </summary>
    public static JsonGrammar ToolCalls(ToolCallSyntax syntax, IReadOnlyList<(string Name, JsonGrammar Arguments)> tools, bool parallel)
    {
        ArgumentNullException.ThrowIfNull(syntax);
        ArgumentNullException.ThrowIfNull(tools);
        if (tools.Count == 0) throw new ArgumentException("at least one tool is needed", nameof(tools));
        return new(new ToolCallsNode(syntax, tools.Select(t => (t.Name, t.Arguments.Root)).ToList(), parallel), 2);
    }

    /// <summary>A fresh per-sequence constraint over <paramref name="tokenizer"/>'s vocabulary (the vocabulary
    /// index is built once per tokenizer and cached). <paramref name="renderSpecialTokens"/> must match
    /// <see cref="Engine.GenerationOptions.RenderSpecialTokens"/> (control tokens then match by their text).</summary>
    public ITokenConstraint CreateConstraint(Tokenizer tokenizer, bool renderSpecialTokens = false) =>
        new GrammarConstraint(this, TokenIndex.For(tokenizer, renderSpecialTokens));

    /// <summary>
    /// A per-sequence constraint that lets the output run free until it contains <paramref name="trigger"/>, then
    /// enforces this grammar from the trigger on (for tool calls the model may or may not make: pass the syntax's
    /// opening marker, e.g. <see cref="ToolCallSyntax.TriggerText"/>).
    /// </summary>
    public ITokenConstraint CreateTriggeredConstraint(Tokenizer tokenizer, string trigger, bool renderSpecialTokens = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(trigger);
        return new TriggeredConstraint(this, TokenIndex.For(tokenizer, renderSpecialTokens), trigger);
    }

    private static Node Compile(JsonElement s, string path, int depth)
    {
        if (depth > 32) throw new JsonSchemaException($"{path}: the schema nests deeper than 32 levels");
        if (s.ValueKind == JsonValueKind.True) return AnyNode.Get(depth);
        if (s.ValueKind == JsonValueKind.False) throw new JsonSchemaException($"{path}: a false schema matches nothing");
        if (s.ValueKind != JsonValueKind.Object) throw new JsonSchemaException($"{path}: a schema must be an object or a boolean");
        foreach (var p in s.EnumerateObject())
        {
            if (Supported.Contains(p.Name) || Annotations.Contains(p.Name)) continue;
            throw new JsonSchemaException($"{path}: the JSON schema keyword '{p.Name}' is not supported; supported: {string.Join(", ", Supported)}");
        }
        if (s.TryGetProperty("const", out var c)) return new LiteralNode([JsonSerializer.Serialize(c, SerializerOptions)]);
        if (s.TryGetProperty("enum", out var e))
        {
            if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() == 0) throw new JsonSchemaException($"{path}.enum must be a non-empty array");
            return new LiteralNode(e.EnumerateArray().Select(v => JsonSerializer.Serialize(v, SerializerOptions)));
        }
        if (s.TryGetProperty("anyOf", out var any))
        {
            if (any.ValueKind != JsonValueKind.Array || any.GetArrayLength() == 0) throw new JsonSchemaException($"{path}.anyOf must be a non-empty array");
            return Union(any.EnumerateArray().Select((a, i) => Compile(a, $"{path}.anyOf[{i}]", depth + 1)).ToList(), path + ".anyOf");
        }
        List<string> types;
        if (s.TryGetProperty("type", out var t))
        {
            types = t.ValueKind switch
            {
                JsonValueKind.String => [t.GetString()!],
                JsonValueKind.Array when t.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String) && t.GetArrayLength() > 0 =>
                    t.EnumerateArray().Select(x => x.GetString()!).ToList(),
                _ => throw new JsonSchemaException($"{path}.type must be a type name or an array of type names"),
            };
        }
        else if (s.TryGetProperty("properties", out _) || s.TryGetProperty("additionalProperties", out _)) types = ["object"];
        else if (s.TryGetProperty("items", out _)) types = ["array"];
        else return AnyNode.Get(depth);
        var nodes = types.Select(type => type switch
        {
            "object" => CompileObject(s, path, depth),
            "array" => new ArrayNode(s.TryGetProperty("items", out var items) ? Compile(items, path + ".items", depth + 1) : AnyNode.Get(depth + 1),
                Count(s, "minItems", path, 0), Count(s, "maxItems", path, int.MaxValue)),
            "string" => new StringNode(Count(s, "minLength", path, 0), Count(s, "maxLength", path, int.MaxValue)),
            "number" => NumberNode.Real,
            "integer" => NumberNode.Integer,
            "boolean" => LiteralNode.Boolean,
            "null" => (Node)LiteralNode.Null,
            _ => throw new JsonSchemaException($"{path}.type: unknown type '{type}' (object, array, string, number, integer, boolean, null)"),
        }).ToList();
        if (types.Contains("number") && types.Contains("integer")) nodes.Remove(NumberNode.Integer);
        return nodes.Count == 1 ? nodes[0] : Union(nodes, path + ".type");
    }

    private static Node CompileObject(JsonElement s, string path, int depth)
    {
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (s.TryGetProperty("required", out var req))
        {
            if (req.ValueKind != JsonValueKind.Array || !req.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String))
                throw new JsonSchemaException($"{path}.required must be an array of property names");
            foreach (var r in req.EnumerateArray()) required.Add(r.GetString()!);
        }
        Node? additional = null;
        if (s.TryGetProperty("additionalProperties", out var ap) && ap.ValueKind != JsonValueKind.False)
            additional = ap.ValueKind == JsonValueKind.True ? AnyNode.Get(depth + 1) : Compile(ap, path + ".additionalProperties", depth + 1);
        if (!s.TryGetProperty("properties", out var props))
        {
            if (required.Count > 0) throw new JsonSchemaException($"{path}.required names properties that are not declared in 'properties'");
            // No declared properties: any keys (or none when additionalProperties is false).
            return ap.ValueKind == JsonValueKind.False ? new ObjectNode([]) : new FreeObjectNode(additional ?? AnyNode.Get(depth + 1));
        }
        if (props.ValueKind != JsonValueKind.Object) throw new JsonSchemaException($"{path}.properties must be an object");
        var list = new List<(string, Node, bool)>();
        foreach (var p in props.EnumerateObject())
            list.Add((p.Name, Compile(p.Value, $"{path}.properties.{p.Name}", depth + 1), required.Contains(p.Name)));
        foreach (var r in required)
            if (!list.Any(x => x.Item1 == r)) throw new JsonSchemaException($"{path}.required: '{r}' is not declared in 'properties'");
        // Declared properties only: a subset of what the schema allows when additionalProperties is not false.
        return new ObjectNode(list);
    }

    private static int Count(JsonElement s, string name, string path, int fallback)
    {
        if (!s.TryGetProperty(name, out var v)) return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int n) || n < 0) throw new JsonSchemaException($"{path}.{name} must be a non-negative integer");
        return n;
    }

    private static Node Union(List<Node> nodes, string path)
    {
        var seen = new bool[256];
        foreach (var n in nodes)
        {
            var first = n.FirstBytes();
            for (int b = 0; b < 256; b++)
            {
                if (!first[b]) continue;
                if (seen[b]) throw new JsonSchemaException($"{path}: alternatives must be of different JSON kinds (object, array, string, number, true/false, null); overlapping alternatives are not supported");
                seen[b] = true;
            }
        }
        return new UnionNode(nodes);
    }
}
