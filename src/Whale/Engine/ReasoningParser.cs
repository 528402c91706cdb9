using System.Text;

namespace Whale.Engine;

/// <summary>
/// Splits streamed model text into reasoning (between <c>&lt;think&gt;</c> and <c>&lt;/think&gt;</c>) and answer
/// content. Works on text, so tags split across tokens are held back until they are complete. Handles a prompt that
/// already opened <c>&lt;think&gt;</c> (R1 templates) and a model that never closes it.
/// </summary>
public sealed class ReasoningParser
{
    private const string Open = "<think>", Close = "</think>";
    private readonly StringBuilder _pending = new();
    private bool _inReasoning, _seenAnyContent, _afterClose;

    /// <param name="startsInReasoning">True when the prompt ends with an open <c>&lt;think&gt;</c>.</param>
    public ReasoningParser(bool startsInReasoning) => _inReasoning = startsInReasoning;

    /// <summary>True while the text is reasoning.</summary>
    public bool InReasoning => _inReasoning;

    /// <summary>Feeds a chunk; returns the reasoning and content text that is now certain.</summary>
    public (string Reasoning, string Content) Push(string text)
    {
        _pending.Append(text);
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        while (_pending.Length > 0)
        {
            string s = _pending.ToString();
            string tag = _inReasoning ? Close : Open;
            int at = s.IndexOf(tag, StringComparison.Ordinal);
            // An opening tag only counts before any answer text (models emit it first, if at all).
            if (!_inReasoning && (_seenAnyContent && s.TrimStart().Length > 0 && at != 0)) at = -1;
            if (at >= 0 && (_inReasoning || s[..at].Trim().Length == 0))
            {
                if (_inReasoning) reasoning.Append(s, 0, at);
                _pending.Remove(0, at + tag.Length);
                _inReasoning = !_inReasoning;
                _afterClose = !_inReasoning;
                continue;
            }
            // Hold back a suffix that may be the start of the tag.
            int keep = PartialTagSuffix(s, tag);
            string ready = s[..(s.Length - keep)];
            _pending.Remove(0, ready.Length);
            if (_inReasoning) reasoning.Append(ready);
            else
            {
                if (_afterClose) { ready = ready.TrimStart(); if (ready.Length > 0) _afterClose = false; }
                if (ready.Length > 0) { content.Append(ready); _seenAnyContent = true; }
            }
            break;
        }
        return (reasoning.ToString(), content.ToString());
    }

    /// <summary>Returns held-back text at the end of generation.</summary>
    public (string Reasoning, string Content) Flush()
    {
        string rest = _pending.ToString();
        _pending.Clear();
        if (_inReasoning) return (rest, "");
        if (_afterClose) rest = rest.TrimStart();
        return ("", rest);
    }

    private static int PartialTagSuffix(string s, string tag)
    {
        for (int len = Math.Min(tag.Length - 1, s.Length); len > 0; len--)
            if (string.CompareOrdinal(s, s.Length - len, tag, 0, len) == 0) return len;
        return 0;
    }
}
