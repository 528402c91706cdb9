using System.Text;
using System.Text.Json;
using Whale.Constraints;
using Whale.Tokenization;

namespace Whale.Tools;

/// <summary>
/// Splits streamed answer text into plain content and tool calls (DeepSeek tool-call tokens or Hermes
/// <c>&lt;tool_call&gt;</c> blocks). Text that may be the start of a call marker is held back until it is decided;
/// once calls begin, each call is reported when its end marker arrives. Not thread-safe; one per sequence.
/// </summary>
public sealed class ToolCallParser
{
    private readonly bool _deepSeek;
    private readonly string[] _starts;
    private readonly string _callEnd;
    private readonly StringBuilder _pending = new();
    private bool _inCalls;
    private int _next;

    /// <summary>A parser for <paramref name="syntax"/>.</summary>
    public ToolCallParser(ToolCallSyntax syntax)
    {
        ArgumentNullException.ThrowIfNull(syntax);
        _deepSeek = syntax != ToolCallSyntax.Hermes;
        _starts = _deepSeek ? ["<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>"] : ["<tool_call>"];
        _callEnd = _deepSeek ? "<｜tool▁call▁end｜>" : "</tool_call>";
    }

    /// <summary>Feeds answer text; returns the content that is certainly not part of a call, and the calls completed.</summary>
    public (string Content, IReadOnlyList<ChatToolCall> Calls) Push(string text)
    {
        _pending.Append(text);
        var calls = new List<ChatToolCall>();
        string content = "";
        if (!_inCalls)
        {
            string s = _pending.ToString();
            int at = -1;
            foreach (var m in _starts)
            {
                int i = s.IndexOf(m, StringComparison.Ordinal);
                if (i >= 0 && (at < 0 || i < at)) at = i;
            }
            if (at >= 0)
            {
                content = s[..at];
                _pending.Clear().Append(s, at, s.Length - at);
                _inCalls = true;
            }
            else
            {
                int hold = 0;
                foreach (var m in _starts)
                    for (int k = Math.Min(m.Length - 1, s.Length); k > hold; k--)
                        if (s.AsSpan(s.Length - k).SequenceEqual(m.AsSpan(0, k))) { hold = k; break; }
                content = s[..^hold];
                _pending.Clear().Append(s, s.Length - hold, hold);
                return (content, calls);
            }
        }
        while (true)
        {
            string s = _pending.ToString();
            int end = s.IndexOf(_callEnd, StringComparison.Ordinal);
            if (end < 0) break;
            if (ParseCall(s[..end]) is { } call) calls.Add(call);
            _pending.Clear().Append(s, end + _callEnd.Length, s.Length - end - _callEnd.Length);
        }
        return (content, calls);
    }

    /// <summary>Ends the text: held-back content, and a last call left without its end marker when it parses.</summary>
    public (string Content, IReadOnlyList<ChatToolCall> Calls) Flush()
    {
        string s = _pending.ToString();
        _pending.Clear();
        if (!_inCalls) return (s, []);
        return ParseCall(s) is { } call ? ("", [call]) : ("", []);
    }

    /// <summary>Parses a whole answer: the content around the calls, and the calls.</summary>
    public static (string Content, IReadOnlyList<ChatToolCall> Calls) ParseAll(string text, ToolCallSyntax syntax)
    {
        var p = new ToolCallParser(syntax);
        var (c1, calls1) = p.Push(text);
        var (c2, calls2) = p.Flush();
        return (c1 + c2, calls1.Concat(calls2).ToList());
    }

    private ChatToolCall? ParseCall(string body)
    {
        string name, args;
        if (_deepSeek)
        {
            const string begin = "<｜tool▁call▁begin｜>", sep = "<｜tool▁sep｜>";
            int b = body.IndexOf(begin, StringComparison.Ordinal);
            if (b < 0) return null;
            body = body[(b + begin.Length)..];
            int s = body.IndexOf(sep, StringComparison.Ordinal);
            if (s >= 0) body = body[(s + sep.Length)..];
            int nl = body.IndexOf('\n', StringComparison.Ordinal);
            if (nl < 0) return null;
            name = body[..nl].Trim();
            args = body[(nl + 1)..].Trim();
            if (args.StartsWith("```json", StringComparison.Ordinal)) args = args[7..];
            else if (args.StartsWith("```", StringComparison.Ordinal)) args = args[3..];
            int fence = args.IndexOf("```", StringComparison.Ordinal);
            if (fence >= 0) args = args[..fence];
            args = args.Trim();
        }
        else
        {
            int b = body.IndexOf("<tool_call>", StringComparison.Ordinal);
            if (b < 0) return null;
            try
            {
                using var doc = JsonDocument.Parse(body[(b + "<tool_call>".Length)..]);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String) return null;
                name = n.GetString()!;
                args = !root.TryGetProperty("arguments", out var a) ? "{}" : a.ValueKind == JsonValueKind.String ? a.GetString()! : a.GetRawText();
            }
            catch (JsonException)
            {
                return null;
            }
        }
        if (name.Length == 0) return null;
        return new ChatToolCall($"call_{_next++:D2}_{Guid.NewGuid():N}"[..32], name, args.Length == 0 ? "{}" : args);
    }
}
