using System.Globalization;
using System.Text.RegularExpressions;

namespace Whale.Training.Data;

/// <summary>
/// Checks the working inside &lt;think&gt; step by step, by code: every line must be a step of the task's trace format
/// (<see cref="TaskGenerator"/>) and a true statement about this problem. A right answer reached through a false step
/// (a wrong "need" or column line, a sum that does not add up) fails. Alternative valid steps pass: mul may split the
/// product any way, countdown may try the numbers in any order.
/// </summary>
public static partial class TraceVerifier
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    [GeneratedRegex(@"^(\d+)([+-])(\d+)$")]
    private static partial Regex ColumnHeader();

    [GeneratedRegex(@"^(\d)([+-])(\d)[+-](\d)=(\d) [cb]([01])$")]
    private static partial Regex ColumnLine();

    [GeneratedRegex(@"^so (\d+)$")]
    private static partial Regex SoLine();

    [GeneratedRegex(@"^(\d+)([*+])(\d+)=(\d+)$")]
    private static partial Regex MulLine();

    [GeneratedRegex(@"^last (\d+): need (-?\d+) (-?\d+) (-?\d+|x)$")]
    private static partial Regex NeedLine();

    [GeneratedRegex(@"^(\d+) (\d+): (-?\d+) (-?\d+) (-?\d+) (-?\d+)$")]
    private static partial Regex PairLine();

    [GeneratedRegex(@"^found (.+)$")]
    private static partial Regex FoundLine();

    /// <summary>True when <paramref name="working"/> (the text before &lt;/think&gt;) is non-empty and every line is a true step.</summary>
    public static bool Verify(Problem problem, string working)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(working);
        var lines = working.Trim().Split('\n');
        if (lines.Length == 0 || lines[0].Length == 0) return false;
        return problem.Kind switch
        {
            TaskKind.Add or TaskKind.Sub => Columns(problem, lines),
            TaskKind.Mul => Products(problem, lines),
            _ => Search(problem, lines),
        };
    }

    private static bool TryInt(string s, out long v) => long.TryParse(s, NumberStyles.AllowLeadingSign, Inv, out v);

    /// <summary>Header "a+b" (padded), one column per line units first with the carry/borrow chain, then "so result".</summary>
    private static bool Columns(Problem p, string[] lines)
    {
        bool add = p.Kind == TaskKind.Add;
        var h = ColumnHeader().Match(lines[0]);
        if (!h.Success || h.Groups[2].Value != (add ? "+" : "-")) return false;
        string sa = h.Groups[1].Value, sb = h.Groups[3].Value;
        if (sa.Length != sb.Length || !TryInt(sa, out long a) || !TryInt(sb, out long b) || a != p.Operands[0] || b != p.Operands[1]) return false;
        int w = sa.Length;
        if (lines.Length != w + 2) return false;
        int carry = 0;
        for (int i = 0; i < w; i++)
        {
            var m = ColumnLine().Match(lines[1 + i]);
            if (!m.Success || m.Groups[2].Value != (add ? "+" : "-")) return false;
            int x = m.Groups[1].Value[0] - '0', y = m.Groups[3].Value[0] - '0', c = m.Groups[4].Value[0] - '0';
            int d = m.Groups[5].Value[0] - '0', next = m.Groups[6].Value[0] - '0';
            if (x != sa[w - 1 - i] - '0' || y != sb[w - 1 - i] - '0' || c != carry) return false;
            if (add ? x + y + c != d + 10 * next : x - y - c != d - 10 * next) return false;
            carry = next;
        }
        var so = SoLine().Match(lines[^1]);
        return so.Success && TryInt(so.Groups[1].Value, out long r) && r == (add ? a + b : a - b);
    }

    /// <summary>Lines "x*y=z" and "x+y=z", each true; the last one's result is the product of the operands.</summary>
    private static bool Products(Problem p, string[] lines)
    {
        long last = -1;
        foreach (var line in lines)
        {
            var m = MulLine().Match(line);
            if (!m.Success || !TryInt(m.Groups[1].Value, out long x) || !TryInt(m.Groups[3].Value, out long y) || !TryInt(m.Groups[4].Value, out long z)) return false;
            if ((m.Groups[2].Value == "*" ? x * y : x + y) != z) return false;
            last = z;
        }
        return last == (long)p.Operands[0] * p.Operands[1];
    }

    /// <summary>
    /// Blocks "last c: need t-c t+c t/c|x" then "a b: a+b a-b b-a a*b" with {a, b, c} the given numbers; then
    /// "found expr" with a right expression, as the final line.
    /// </summary>
    private static bool Search(Problem p, string[] lines)
    {
        int t = p.Target;
        var numbers = p.Operands.Order().ToArray();
        long c = 0;
        bool expectPair = false;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (expectPair)
            {
                var m = PairLine().Match(line);
                if (!m.Success) return false;
                var v = Enumerable.Range(1, 6).Select(g => TryInt(m.Groups[g].Value, out long x) ? x : long.MinValue).ToArray();
                long a = v[0], b = v[1];
                if (!new[] { a, b, c }.Order().SequenceEqual(numbers.Select(n => (long)n))) return false;
                if (v[2] != a + b || v[3] != a - b || v[4] != b - a || v[5] != a * b) return false;
                expectPair = false;
                continue;
            }
            var need = NeedLine().Match(line);
            if (need.Success)
            {
                if (!TryInt(need.Groups[1].Value, out c) || !numbers.Contains((int)c)) return false;
                if (!TryInt(need.Groups[2].Value, out long minus) || minus != t - c) return false;
                if (!TryInt(need.Groups[3].Value, out long plus) || plus != t + c) return false;
                string div = need.Groups[4].Value;
                bool divides = c != 0 && t % c == 0;
                if (divides ? div != (t / c).ToString(Inv) : div != "x") return false;
                expectPair = true;
                continue;
            }
            var found = FoundLine().Match(line);
            return found.Success && i == lines.Length - 1 && CountdownExpression.Check(found.Groups[1].Value, p.Operands, t);
        }
        return false; // no "found" line
    }
}
