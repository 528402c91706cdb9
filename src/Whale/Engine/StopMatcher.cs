namespace Whale.Engine;

/// <summary>Finds stop strings in streamed text, holding back a suffix that could still become one.</summary>
internal sealed class StopMatcher(IReadOnlyList<string> stops)
{
    private string _held = "";

    public bool Stopped { get; private set; }

    /// <summary>Returns the text that is safe to emit, and whether a stop string was found (text after it is dropped).</summary>
    public (string Text, bool Stopped) Push(string text)
    {
        if (Stopped) return ("", true);
        if (stops.Count == 0) return (text, false);
        string s = _held + text;
        int cut = -1;
        foreach (var stop in stops)
        {
            if (stop.Length == 0) continue;
            int at = s.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut >= 0) { _held = ""; Stopped = true; return (s[..cut], true); }
        int keep = 0;
        foreach (var stop in stops)
            for (int len = Math.Min(stop.Length - 1, s.Length); len > keep; len--)
                if (string.CompareOrdinal(s, s.Length - len, stop, 0, len) == 0) { keep = len; break; }
        _held = s[(s.Length - keep)..];
        return (s[..(s.Length - keep)], false);
    }

    public string Flush()
    {
        string h = _held;
        _held = "";
        return Stopped ? "" : h;
    }
}
