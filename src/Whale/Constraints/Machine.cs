namespace Whale.Constraints;

/// <summary>What a frame does with one input byte.</summary>
internal enum StepKind : byte
{
    /// <summary>The byte is not allowed.</summary>
    Reject,
    /// <summary>Consumed; the frame becomes <see cref="Step.Frame"/>.</summary>
    Replace,
    /// <summary>Consumed; the frame becomes <see cref="Step.Frame"/> and <see cref="Step.Child"/> is pushed on it.</summary>
    Push,
    /// <summary>As <see cref="Push"/>, but the byte is fed to the child.</summary>
    PushFeed,
    /// <summary>Consumed; the frame is complete and is popped.</summary>
    Pop,
    /// <summary>The frame is complete (the byte does not belong to it): pop and feed the byte to the parent.</summary>
    PopFeed,
}

/// <summary>The result of feeding a byte to a frame.</summary>
internal readonly record struct Step(StepKind Kind, Frame? Frame = null, Frame? Child = null)
{
    public static Step Reject => default;
    public static Step Pop => new(StepKind.Pop);
    public static Step PopFeed => new(StepKind.PopFeed);
    public static Step To(Frame f) => new(StepKind.Replace, f);
    public static Step Push(Frame cont, Frame child) => new(StepKind.Push, cont, child);
    public static Step PushFeed(Frame cont, Frame child) => new(StepKind.PushFeed, cont, child);
}

/// <summary>An immutable automaton frame (one level of nesting).</summary>
internal abstract class Frame
{
    public abstract Step Feed(byte b);

    /// <summary>The frame may end here without more input (a number, a literal that is a prefix of another).</summary>
    public virtual bool CanEnd => false;
}

/// <summary>An immutable pushdown state: the stack of frames as a linked list (sharing makes copies free).</summary>
internal sealed class MachineState(Frame top, MachineState? parent)
{
    public Frame Top { get; } = top;
    public MachineState? Parent { get; } = parent;

    /// <summary>The state after <paramref name="b"/>, or null when the byte is not allowed.</summary>
    public static MachineState? Feed(MachineState s, byte b)
    {
        MachineState? cur = s;
        while (cur is not null)
        {
            var st = cur.Top.Feed(b);
            switch (st.Kind)
            {
                case StepKind.Replace: return new MachineState(st.Frame!, cur.Parent);
                case StepKind.Push: return new MachineState(st.Child!, new MachineState(st.Frame!, cur.Parent));
                case StepKind.PushFeed: cur = new MachineState(st.Child!, new MachineState(st.Frame!, cur.Parent)); continue;
                case StepKind.Pop: return cur.Parent;
                case StepKind.PopFeed: cur = cur.Parent; continue;
                default: return null;
            }
        }
        return null;
    }

    /// <summary>True when the input so far is a complete document.</summary>
    public bool IsComplete
    {
        get
        {
            var cur = this;
            while (cur.Top is not RootFrame { Done: true })
            {
                if (!cur.Top.CanEnd || cur.Parent is null) return false;
                cur = cur.Parent;
            }
            return true;
        }
    }

    /// <summary>Nothing but the end may follow (the document is complete and no byte can extend it).</summary>
    public bool IsFinal => Top is RootFrame { Done: true };
}

/// <summary>The bottom frame: optional leading whitespace, then the document, then nothing.</summary>
internal sealed class RootFrame(Node node, int whitespace, bool done) : Frame
{
    public bool Done => done;

    public override Step Feed(byte b)
    {
        if (done) return Step.Reject;
        if ((b == (byte)' ' || b == (byte)'\n') && whitespace > 0) return Step.To(new RootFrame(node, whitespace - 1, false));
        return Step.PushFeed(new RootFrame(node, 0, true), new ValueFrame(node, 0));
    }
}

/// <summary>Waiting for the first byte of a value (after up to <c>whitespace</c> spaces).</summary>
internal sealed class ValueFrame(Node node, int whitespace) : Frame
{
    public override Step Feed(byte b)
    {
        if (b == (byte)' ' && whitespace > 0) return Step.To(new ValueFrame(node, whitespace - 1));
        return node.Begin(b);
    }
}
