using System.Text;

namespace Whale.Constraints;

/// <summary>Tool calls in a <see cref="ToolCallSyntax"/>, at most <see cref="MaxCalls"/> when parallel.</summary>
internal sealed class ToolCallsNode : Node
{
    public const int MaxCalls = 8;

    public ToolCallsNode(ToolCallSyntax syntax, IReadOnlyList<(string Name, Node Arguments)> tools, bool parallel)
    {
        Open = Encoding.UTF8.GetBytes(syntax.Open);
        CallPrefix = Encoding.UTF8.GetBytes(syntax.CallPrefix);
        NameSuffix = Encoding.UTF8.GetBytes(syntax.NameSuffix);
        CallSuffix = Encoding.UTF8.GetBytes(syntax.CallSuffix);
        Separator = Encoding.UTF8.GetBytes(syntax.Separator);
        Close = Encoding.UTF8.GetBytes(syntax.Close);
        if (CallPrefix.Length == 0 || NameSuffix.Length == 0 || CallSuffix.Length == 0 || Separator.Length == 0)
            throw new ArgumentException("the tool-call syntax needs a call prefix, name suffix, call suffix and separator");
        var sorted = tools.Select(t => (Key: Encoding.UTF8.GetBytes(t.Name), t.Arguments)).OrderBy(t => t.Key, ByteArrayComparer.Instance).ToArray();
        Names = sorted.Select(t => t.Key).ToArray();
        Arguments = sorted.Select(t => t.Arguments).ToArray();
        Parallel = parallel;
    }

    public byte[] Open { get; }
    public byte[] CallPrefix { get; }
    public byte[] NameSuffix { get; }
    public byte[] CallSuffix { get; }
    public byte[] Separator { get; }
    public byte[] Close { get; }
    public byte[][] Names { get; }
    public Node[] Arguments { get; }
    public bool Parallel { get; }

    public override Step Begin(byte b) =>
        new ToolCallsFrame(this, Open.Length > 0 ? ToolCallsFrame.InOpen : ToolCallsFrame.InCallPrefix, 0, 0, 0, 1).Feed(b);
}

/// <summary>Inside tool calls: a phase, bytes read of the current literal or name (pos), name candidates
/// Names[lo..hi) (after the name: lo = the tool), and the number of the current call.</summary>
internal sealed class ToolCallsFrame(ToolCallsNode node, int phase, int pos, int lo, int hi, int call) : Frame
{
    public const int InOpen = 0, InCallPrefix = 1, InName = 2, InNameSuffix = 3, InCallSuffix = 5, AfterCall = 6, InSeparator = 7, InClose = 8;

    public override bool CanEnd => phase == AfterCall && node.Close.Length == 0;

    public override Step Feed(byte b)
    {
        switch (phase)
        {
            case InOpen: return Literal(node.Open, b, () => new ToolCallsFrame(node, InCallPrefix, 0, 0, 0, call));
            case InCallPrefix: return Literal(node.CallPrefix, b, () => new ToolCallsFrame(node, InName, 0, 0, node.Names.Length, call));
            case InName:
                if (b == node.NameSuffix[0] && node.Names[lo].Length == pos && pos > 0)
                    return NameSuffixStep(new ToolCallsFrame(node, InNameSuffix, 0, lo, lo, call), b);
                var (nlo, nhi) = ByteArrayComparer.Narrow(node.Names, pos, lo, hi, b);
                return nlo < nhi ? Step.To(new ToolCallsFrame(node, InName, pos + 1, nlo, nhi, call)) : Step.Reject;
            case InNameSuffix: return NameSuffixStep(this, b);
            case InCallSuffix: return Literal(node.CallSuffix, b, () => new ToolCallsFrame(node, AfterCall, 0, 0, 0, call));
            case AfterCall:
                if (node.Parallel && call < ToolCallsNode.MaxCalls && b == node.Separator[0])
                    return Literal(node.Separator, b, () => new ToolCallsFrame(node, InCallPrefix, 0, 0, 0, call + 1), InSeparator);
                if (node.Close.Length > 0 && b == node.Close[0]) return Literal(node.Close, b, null, InClose);
                return Step.Reject;
            case InSeparator: return Literal(node.Separator, b, () => new ToolCallsFrame(node, InCallPrefix, 0, 0, 0, call + 1));
            default: return Literal(node.Close, b, null);
        }
    }

    private Step NameSuffixStep(ToolCallsFrame at, byte b)
    {
        var suffix = node.NameSuffix;
        if (suffix[at.Pos] != b) return Step.Reject;
        if (at.Pos + 1 < suffix.Length) return Step.To(new ToolCallsFrame(node, InNameSuffix, at.Pos + 1, at.Lo, at.Lo, call));
        return Step.Push(new ToolCallsFrame(node, InCallSuffix, 0, at.Lo, at.Lo, call), new ValueFrame(node.Arguments[at.Lo], 0));
    }

    private int Pos => pos;
    private int Lo => lo;

    /// <summary>Matches byte <paramref name="b"/> of a literal (in <paramref name="literalPhase"/>, default this
    /// phase); at its end moves to <paramref name="next"/> (null: the frame is complete).</summary>
    private Step Literal(byte[] literal, byte b, Func<ToolCallsFrame>? next, int literalPhase = -1)
    {
        int p = literalPhase >= 0 ? 0 : pos;
        if (literal[p] != b) return Step.Reject;
        if (p + 1 < literal.Length) return Step.To(new ToolCallsFrame(node, literalPhase >= 0 ? literalPhase : phase, p + 1, lo, hi, call));
        return next is null ? Step.Pop : Step.To(next());
    }
}
