namespace Whale.Training.Data;

/// <summary>Checks a countdown answer: an expression of + - * and parentheses over the given numbers, each used once.</summary>
public static class CountdownExpression
{
    /// <summary>True when <paramref name="expr"/> parses, uses exactly the multiset <paramref name="numbers"/>, and equals the target.</summary>
    public static bool Check(string expr, IReadOnlyList<int> numbers, int target)
    {
        ArgumentNullException.ThrowIfNull(expr);
        var used = new List<int>();
        int pos = 0;
        string s = expr.Replace(" ", "", StringComparison.Ordinal);
        long? v = ParseSum(s, ref pos, used, 0);
        if (v is null || pos != s.Length || v != target) return false;
        var a = used.Order().ToArray();
        var b = numbers.Order().ToArray();
        return a.SequenceEqual(b);
    }

    private static long? ParseSum(string s, ref int pos, List<int> used, int depth)
    {
        var left = ParseProduct(s, ref pos, used, depth);
        while (left is not null && pos < s.Length && (s[pos] == '+' || s[pos] == '-'))
        {
            char op = s[pos++];
            var right = ParseProduct(s, ref pos, used, depth);
            if (right is null) return null;
            left = op == '+' ? left + right : left - right;
        }
        return left;
    }

    private static long? ParseProduct(string s, ref int pos, List<int> used, int depth)
    {
        var left = ParseAtom(s, ref pos, used, depth);
        while (left is not null && pos < s.Length && s[pos] == '*')
        {
            pos++;
            var right = ParseAtom(s, ref pos, used, depth);
            if (right is null) return null;
            left *= right;
        }
        return left;
    }

    private static long? ParseAtom(string s, ref int pos, List<int> used, int depth)
    {
        if (pos >= s.Length || depth > 8) return null;
        if (s[pos] == '(')
        {
            pos++;
            var v = ParseSum(s, ref pos, used, depth + 1);
            if (v is null || pos >= s.Length || s[pos] != ')') return null;
            pos++;
            return v;
        }
        int start = pos;
        while (pos < s.Length && char.IsAsciiDigit(s[pos]) && pos - start < 4) pos++;
        if (pos == start) return null;
        int n = int.Parse(s.AsSpan(start, pos - start), provider: System.Globalization.CultureInfo.InvariantCulture);
        used.Add(n);
        return n;
    }
}
