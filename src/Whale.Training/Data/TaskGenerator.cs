using System.Globalization;
using System.Text;

namespace Whale.Training.Data;

/// <summary>
/// Generates the verifiable problems with their reasoning traces. Every problem belongs to exactly one split, fixed by a
/// hash of its operands (about 10% held out), so training never sees an evaluation problem. Seeded and reproducible.
/// </summary>
public sealed class TaskGenerator
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly Random _rng;

    /// <summary>Creates a generator with its own seeded random stream.</summary>
    public TaskGenerator(int seed) => _rng = new Random(seed);

    /// <summary>All task kinds, in table order.</summary>
    public static IReadOnlyList<TaskKind> Kinds { get; } = [TaskKind.Add, TaskKind.Sub, TaskKind.Mul, TaskKind.Countdown];

    /// <summary>True for problems of the held-out split (stable FNV-1a hash of kind and operands, 1 in 10).</summary>
    public static bool IsHeldOut(TaskKind kind, IReadOnlyList<int> operands)
    {
        uint h = 2166136261;
        void Mix(int v) { foreach (byte b in BitConverter.GetBytes(v)) { h ^= b; h *= 16777619; } }
        Mix((int)kind);
        foreach (var o in operands) Mix(o);
        return h % 10 == 0;
    }

    /// <summary>Next problem of a kind from the given split.</summary>
    public Problem Next(TaskKind kind, bool heldOut)
    {
        while (true)
        {
            var p = kind switch
            {
                TaskKind.Add => Add(),
                TaskKind.Sub => Sub(),
                TaskKind.Mul => Mul(),
                _ => Countdown(),
            };
            if (p is not null && IsHeldOut(kind, p.Operands) == heldOut) return p;
        }
    }

    /// <summary>Next problem of a uniformly drawn kind.</summary>
    public Problem Next(bool heldOut) => Next(Kinds[_rng.Next(Kinds.Count)], heldOut);

    /// <summary>A fixed sample of held-out problems: <paramref name="perKind"/> of each kind, distinct.</summary>
    public static List<Problem> HeldOutSample(int perKind, int seed = 12345)
    {
        var gen = new TaskGenerator(seed);
        var list = new List<Problem>();
        foreach (var kind in Kinds)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            int guard = 0;
            while (seen.Count < perKind && guard++ < perKind * 200)
            {
                var p = gen.Next(kind, heldOut: true);
                if (seen.Add(p.Question)) list.Add(p);
            }
        }
        return list;
    }

    private int Digits(int maxDigits)
    {
        int d = 1 + _rng.Next(maxDigits);
        int lo = d == 1 ? 0 : (int)Math.Pow(10, d - 1);
        return _rng.Next(lo, (int)Math.Pow(10, d));
    }

    private string Pick(params string[] forms) => forms[_rng.Next(forms.Length)];

    private Problem Add()
    {
        int a = Digits(4), b = Digits(4);
        string q = string.Format(Inv, Pick("What is {0} + {1}?", "Compute {0} + {1}.", "Add {0} and {1}.", "What is the sum of {0} and {1}?"), a, b);
        return new Problem(TaskKind.Add, [a, b], a + b, q, ColumnTrace(a, b, add: true), Boxed((a + b).ToString(Inv)));
    }

    private Problem? Sub()
    {
        int a = Digits(4), b = Digits(4);
        if (a < b) (a, b) = (b, a);
        string q = string.Format(Inv, Pick("What is {0} - {1}?", "Compute {0} - {1}.", "Subtract {1} from {0}."), a, b);
        return new Problem(TaskKind.Sub, [a, b], a - b, q, ColumnTrace(a, b, add: false), Boxed((a - b).ToString(Inv)));
    }

    private Problem Mul()
    {
        int a = _rng.Next(2, 100), b = _rng.Next(2, 10);
        string q = string.Format(Inv, Pick("What is {0} * {1}?", "Compute {0} * {1}.", "Multiply {0} by {1}."), a, b);
        int tens = a / 10 * 10, units = a % 10;
        string trace = tens == 0
            ? string.Format(Inv, "{0}*{1}={2}", a, b, a * b)
            : string.Format(Inv, "{0}*{1}={2}\n{3}*{1}={4}\n{2}+{4}={5}", tens, b, tens * b, units, units * b, a * b);
        return new Problem(TaskKind.Mul, [a, b], a * b, q, trace, Boxed((a * b).ToString(Inv)));
    }

    /// <summary>
    /// Column arithmetic, units first: both numbers padded to the same width, then one line per column
    /// "x+y+c=d c1" (carry) or "x-y-b=d b1" (borrow), then the result read back.
    /// </summary>
    internal static string ColumnTrace(int a, int b, bool add)
    {
        string sa = a.ToString(Inv), sb = b.ToString(Inv);
        int w = Math.Max(sa.Length, sb.Length);
        sa = sa.PadLeft(w, '0');
        sb = sb.PadLeft(w, '0');
        char op = add ? '+' : '-';
        var sbd = new StringBuilder();
        sbd.Append(sa).Append(op).Append(sb).Append('\n');
        int carry = 0;
        var digits = new char[w];
        for (int i = w - 1; i >= 0; i--)
        {
            int x = sa[i] - '0', y = sb[i] - '0';
            int r = add ? x + y + carry : x - y - carry;
            int next = add ? r / 10 : r < 0 ? 1 : 0;
            int d = add ? r % 10 : (r + 10) % 10;
            sbd.Append(Inv, $"{x}{op}{y}{op}{carry}={d} {(add ? 'c' : 'b')}{next}\n");
            digits[i] = (char)('0' + d);
            carry = next;
        }
        string result = (add && carry > 0 ? "1" : "") + new string(digits);
        string trimmed = result.TrimStart('0');
        sbd.Append("so ").Append(trimmed.Length == 0 ? "0" : trimmed);
        return sbd.ToString();
    }

    private Problem? Countdown()
    {
        int[] n = [_rng.Next(1, 10), _rng.Next(1, 10), _rng.Next(1, 10)];
        char[] ops = ['+', '-', '*'];
        int i = _rng.Next(3), j = (i + 1 + _rng.Next(2)) % 3, k = 3 - i - j;
        char o1 = ops[_rng.Next(3)], o2 = ops[_rng.Next(3)];
        int target = Apply(Apply(n[i], o1, n[j]), o2, n[k]);
        if (target <= 0 || target > 99) return null;
        string q = string.Format(Inv, Pick("Using {0}, {1} and {2}, reach {3} with + - *.", "Make {3} from {0}, {1}, {2} using + - *.",
            "Reach {3} using the numbers {0}, {1}, {2} and + - *."), n[0], n[1], n[2], target);
        var (trace, expr) = SearchTrace(n, target);
        return expr is null ? null : new Problem(TaskKind.Countdown, n, target, q, trace, Boxed(expr));
    }

    internal static int Apply(int a, char op, int b) => op switch { '+' => a + b, '-' => a - b, _ => a * b };

    /// <summary>
    /// The search the trace shows: for each number as the last one, the values the other two must make (need), then
    /// what the two make with + - *; stops at the first match. Returns the trace and the expression "(a o b) o c".
    /// </summary>
    internal static (string Trace, string? Expr) SearchTrace(int[] n, int target)
    {
        var sb = new StringBuilder();
        for (int last = 0; last < 3; last++)
        {
            int a = n[(last + 1) % 3], b = n[(last + 2) % 3], c = n[last];
            if (last > 0) sb.Append('\n');
            // what (a o b) must equal for "(a o b) o2 c" to hit the target
            int needPlus = target - c, needMinus = target + c;
            int? needTimes = c != 0 && target % c == 0 ? target / c : null;
            sb.Append(Inv, $"last {c}: need {needPlus} {needMinus} {(needTimes is int t ? t.ToString(Inv) : "x")}\n");
            (char Op, int A, int B, int V)[] cand = [('+', a, b, a + b), ('-', a, b, a - b), ('-', b, a, b - a), ('*', a, b, a * b)];
            sb.Append(Inv, $"{a} {b}: {a + b} {a - b} {b - a} {a * b}");
            foreach (var (op2, need) in new (char, int?)[] { ('+', needPlus), ('-', needMinus), ('*', needTimes) })
            {
                if (need is not int nv) continue;
                foreach (var x in cand)
                {
                    if (x.V != nv) continue;
                    string expr = $"({x.A}{x.Op}{x.B}){op2}{c}";
                    sb.Append("\nfound ").Append(expr);
                    return (sb.ToString(), expr);
                }
            }
        }
        return (sb.ToString(), null);
    }

    private static string Boxed(string s) => "The answer is \\boxed{" + s + "}.";
}
