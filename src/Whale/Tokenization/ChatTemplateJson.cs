using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Whale.Tokenization;

/// <summary>The Jinja <c>tojson</c> filter as Hugging Face / minja apply it (Python <c>json.dumps</c> layout).</summary>
internal static class ChatTemplateJson
{
    /// <summary>
    /// Appends <c>value | tojson</c> where <paramref name="json"/> is JSON text (the object form llama.cpp passes
    /// to templates that need object arguments). Text that is not valid JSON is dumped as a JSON string.
    /// </summary>
    public static void AppendToJson(StringBuilder sb, string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            AppendString(sb, json);
            return;
        }

        using (doc)
            AppendElement(sb, doc.RootElement);
    }

    private static void AppendElement(StringBuilder sb, JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
            {
                sb.Append('{');
                bool first = true;
                foreach (var p in e.EnumerateObject())
                {
                    if (!first)
                        sb.Append(", ");
                    first = false;
                    AppendString(sb, p.Name);
                    sb.Append(": ");
                    AppendElement(sb, p.Value);
                }

                sb.Append('}');
                break;
            }

            case JsonValueKind.Array:
            {
                sb.Append('[');
                bool first = true;
                foreach (var item in e.EnumerateArray())
                {
                    if (!first)
                        sb.Append(", ");
                    first = false;
                    AppendElement(sb, item);
                }

                sb.Append(']');
                break;
            }

            case JsonValueKind.String:
                AppendString(sb, e.GetString()!);
                break;
            default:
                sb.Append(e.GetRawText());
                break;
        }
    }

    /// <summary>A JSON string literal with Python's escapes and non-ASCII kept as is (<c>ensure_ascii=False</c>).</summary>
    public static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20)
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else
                        sb.Append(c);
                    break;
            }
        }

        sb.Append('"');
    }
}
