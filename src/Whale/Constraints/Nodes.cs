namespace Whale.Constraints;

/// <summary>A compiled grammar node: what one JSON value may look like.</summary>
internal abstract class Node
{
    /// <summary>Consumes the first byte of a value (the result acts for the <see cref="ValueFrame"/>).</summary>
    public abstract Step Begin(byte b);

    /// <summary>The bytes a value may start with.</summary>
    public bool[] FirstBytes()
    {
        var set = new bool[256];
        for (int b = 0; b < 256; b++) set[b] = Begin((byte)b).Kind != StepKind.Reject;
        return set;
    }
}

/// <summary>Any JSON value (json_object mode); containers nest at most <see cref="MaxDepth"/> deep.</summary>
internal sealed class AnyNode : Node
{
    public const int MaxDepth = 20;
    private static readonly AnyNode?[] ByDepth = new AnyNode?[MaxDepth + 1];
    private readonly int _depth;
    private FreeObjectNode? _object;
    private ArrayNode? _array;

    private AnyNode(int depth) => _depth = depth;

    public static AnyNode Get(int depth)
    {
        depth = Math.Min(depth, MaxDepth);
        return ByDepth[depth] ??= new AnyNode(depth);
    }

    public override Step Begin(byte b)
    {
        switch (b)
        {
            case (byte)'{' when _depth < MaxDepth:
                return (_object ??= new FreeObjectNode(Get(_depth + 1))).Begin(b);
            case (byte)'[' when _depth < MaxDepth:
                return (_array ??= new ArrayNode(Get(_depth + 1), 0, int.MaxValue)).Begin(b);
            case (byte)'"':
                return StringNode.Unbounded.Begin(b);
            case (byte)'t' or (byte)'f' or (byte)'n':
                return LiteralNode.TrueFalseNull.Begin(b);
            default:
                return NumberNode.Real.Begin(b);
        }
    }
}

/// <summary>One of several nodes, chosen by the first byte (the alternatives start differently).</summary>
internal sealed class UnionNode(IReadOnlyList<Node> nodes) : Node
{
    public override Step Begin(byte b)
    {
        foreach (var n in nodes)
        {
            var s = n.Begin(b);
            if (s.Kind != StepKind.Reject) return s;
        }
        return Step.Reject;
    }
}

/// <summary>A string of <c>min..max</c> characters.</summary>
internal sealed class StringNode(int minLength, int maxLength) : Node
{
    public static readonly StringNode Unbounded = new(0, int.MaxValue);
    public int MinLength => minLength;
    public int MaxLength => maxLength;

    public override Step Begin(byte b) => b == (byte)'"' ? Step.To(new StringFrame(this, 0, 0, 0, 0, 0)) : Step.Reject;
}

/// <summary>Inside a string. Mode 0: characters; 1: after a backslash; 2: hex digits of \u; 3: UTF-8 continuation.</summary>
internal sealed class StringFrame(StringNode node, int length, byte mode, byte remaining, byte lo, byte hi) : Frame
{
    public StringNode Node => node;
    public int Length => length;
    public bool InCharacters => mode == 0;

    public override Step Feed(byte b)
    {
        switch (mode)
        {
            case 0:
                if (b == (byte)'"') return length >= node.MinLength ? Step.Pop : Step.Reject;
                if (length >= node.MaxLength || b < 0x20) return Step.Reject;
                if (b == (byte)'\\') return Step.To(new StringFrame(node, length + 1, 1, 0, 0, 0));
                if (b < 0x80) return Step.To(new StringFrame(node, length + 1, 0, 0, 0, 0));
                return b switch
                {
                    >= 0xC2 and <= 0xDF => Step.To(new StringFrame(node, length + 1, 3, 1, 0x80, 0xBF)),
                    0xE0 => Step.To(new StringFrame(node, length + 1, 3, 2, 0xA0, 0xBF)),
                    0xED => Step.To(new StringFrame(node, length + 1, 3, 2, 0x80, 0x9F)),
                    >= 0xE1 and <= 0xEF => Step.To(new StringFrame(node, length + 1, 3, 2, 0x80, 0xBF)),
                    0xF0 => Step.To(new StringFrame(node, length + 1, 3, 3, 0x90, 0xBF)),
                    >= 0xF1 and <= 0xF3 => Step.To(new StringFrame(node, length + 1, 3, 3, 0x80, 0xBF)),
                    0xF4 => Step.To(new StringFrame(node, length + 1, 3, 3, 0x80, 0x8F)),
                    _ => Step.Reject,
                };
            case 1:
                if (b is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t')
                    return Step.To(new StringFrame(node, length, 0, 0, 0, 0));
                return b == (byte)'u' ? Step.To(new StringFrame(node, length, 2, 4, 0, 0)) : Step.Reject;
            case 2:
                // \u escapes of surrogates (D800-DFFF) are not allowed: a lone one is not valid text.
                if (!Uri.IsHexDigit((char)b) || (remaining == 4 && (b == (byte)'d' || b == (byte)'D'))) return Step.Reject;
                return Step.To(remaining == 1 ? new StringFrame(node, length, 0, 0, 0, 0) : new StringFrame(node, length, 2, (byte)(remaining - 1), 0, 0));
            default:
                if (b < lo || b > hi) return Step.Reject;
                return Step.To(remaining == 1 ? new StringFrame(node, length, 0, 0, 0, 0) : new StringFrame(node, length, 3, (byte)(remaining - 1), 0x80, 0xBF));
        }
    }
}

/// <summary>A JSON number (at most 15 integer and 15 fraction digits, 2 exponent digits, so every value fits a double); integers have neither.</summary>
internal sealed class NumberNode(bool integer) : Node
{
    public static readonly NumberNode Real = new(false);
    public static readonly NumberNode Integer = new(true);
    public bool IsInteger => integer;

    public override Step Begin(byte b) => b switch
    {
        (byte)'-' => Step.To(new NumberFrame(this, 0, 0)),
        (byte)'0' => Step.To(new NumberFrame(this, 1, 0)),
        >= (byte)'1' and <= (byte)'9' => Step.To(new NumberFrame(this, 2, 1)),
        _ => Step.Reject,
    };
}

/// <summary>Inside a number. Phases: 0 after '-', 1 after a leading 0, 2 integer digits, 3 after '.', 4 fraction
/// digits, 5 after 'e', 6 after the exponent sign, 7 exponent digits.</summary>
internal sealed class NumberFrame(NumberNode node, int phase, int count) : Frame
{
    private const int MaxDigits = 15;
    public override bool CanEnd => phase is 1 or 2 or 4 or 7;

    public override Step Feed(byte b)
    {
        bool digit = b is >= (byte)'0' and <= (byte)'9';
        bool real = !node.IsInteger;
        switch (phase)
        {
            case 0:
                return b == (byte)'0' ? Step.To(new NumberFrame(node, 1, 0)) : digit ? Step.To(new NumberFrame(node, 2, 1)) : Step.Reject;
            case 1 or 2:
                if (phase == 2 && digit && count < MaxDigits) return Step.To(new NumberFrame(node, 2, count + 1));
                if (real && b == (byte)'.') return Step.To(new NumberFrame(node, 3, 0));
                if (real && b is (byte)'e' or (byte)'E') return Step.To(new NumberFrame(node, 5, 0));
                return Step.PopFeed;
            case 3:
                return digit ? Step.To(new NumberFrame(node, 4, 1)) : Step.Reject;
            case 4:
                if (digit && count < MaxDigits) return Step.To(new NumberFrame(node, 4, count + 1));
                if (b is (byte)'e' or (byte)'E') return Step.To(new NumberFrame(node, 5, 0));
                return Step.PopFeed;
            case 5:
                if (b is (byte)'+' or (byte)'-') return Step.To(new NumberFrame(node, 6, 0));
                return digit ? Step.To(new NumberFrame(node, 7, 1)) : Step.Reject;
            case 6:
                return digit ? Step.To(new NumberFrame(node, 7, 1)) : Step.Reject;
            default:
                return digit && count < 2 ? Step.To(new NumberFrame(node, 7, count + 1)) : Step.PopFeed;
        }
    }
}

/// <summary>One of a fixed set of JSON texts (enum, const, true/false/null), sorted by their bytes.</summary>
internal sealed class LiteralNode : Node
{
    public static readonly LiteralNode TrueFalseNull = new(["true", "false", "null"]);
    public static readonly LiteralNode Boolean = new(["true", "false"]);
    public static readonly LiteralNode Null = new(["null"]);

    public LiteralNode(IEnumerable<string> jsonTexts)
    {
        Items = jsonTexts.Select(t => System.Text.Encoding.UTF8.GetBytes(t)).Distinct(ByteArrayComparer.Instance).ToArray();
        Array.Sort(Items, ByteArrayComparer.Instance);
    }

    public byte[][] Items { get; }

    public override Step Begin(byte b) => new LiteralFrame(this, 0, 0, Items.Length).Feed(b);
}

/// <summary>Matching a literal: <c>pos</c> bytes read; the candidates still alive are Items[lo..hi).</summary>
internal sealed class LiteralFrame(LiteralNode node, int pos, int lo, int hi) : Frame
{
    public override bool CanEnd => node.Items[lo].Length == pos;

    public override Step Feed(byte b)
    {
        var items = node.Items;
        var (nlo, nhi) = ByteArrayComparer.Narrow(items, pos, lo, hi, b);
        if (nlo == nhi) return CanEnd ? Step.PopFeed : Step.Reject;
        if (nhi - nlo == 1 && items[nlo].Length == pos + 1) return Step.Pop;
        return Step.To(new LiteralFrame(node, pos + 1, nlo, nhi));
    }
}

/// <summary>An array of <c>min..max</c> items.</summary>
internal sealed class ArrayNode(Node items, int minItems, int maxItems) : Node
{
    public Node Items => items;
    public int MinItems => minItems;
    public int MaxItems => maxItems;

    public override Step Begin(byte b) => b == (byte)'[' ? Step.To(new ArrayFrame(this, 0, 0)) : Step.Reject;
}

/// <summary>Inside an array. Phase 0: after '['; 1: after ','; 2: after an item.</summary>
internal sealed class ArrayFrame(ArrayNode node, int phase, int count) : Frame
{
    public override Step Feed(byte b)
    {
        switch (phase)
        {
            case 0:
                if (b == (byte)']') return node.MinItems == 0 ? Step.Pop : Step.Reject;
                return node.MaxItems > 0 ? Step.PushFeed(new ArrayFrame(node, 2, 1), new ValueFrame(node.Items, 0)) : Step.Reject;
            case 1:
                return Step.PushFeed(new ArrayFrame(node, 2, count + 1), new ValueFrame(node.Items, 1));
            default:
                if (b == (byte)',' && count < node.MaxItems) return Step.To(new ArrayFrame(node, 1, count));
                if (b == (byte)']' && count >= node.MinItems) return Step.Pop;
                return Step.Reject;
        }
    }
}

/// <summary>An object with any keys; every value matches <c>values</c>.</summary>
internal sealed class FreeObjectNode(Node values) : Node
{
    public Node Values => values;

    public override Step Begin(byte b) => b == (byte)'{' ? Step.To(new FreeObjectFrame(this, 0)) : Step.Reject;
}

/// <summary>Inside a free object. Phase 0: after '{'; 1: after ','; 5: after ', '; 3: after a key; 4: after a value.</summary>
internal sealed class FreeObjectFrame(FreeObjectNode node, int phase) : Frame
{
    public override Step Feed(byte b)
    {
        switch (phase)
        {
            case 0 or 1 or 5:
                if (b == (byte)' ' && phase == 1) return Step.To(new FreeObjectFrame(node, 5));
                if (b == (byte)'"') return Step.Push(new FreeObjectFrame(node, 3), new StringFrame(StringNode.Unbounded, 0, 0, 0, 0, 0));
                return phase == 0 && b == (byte)'}' ? Step.Pop : Step.Reject;
            case 3:
                return b == (byte)':' ? Step.Push(new FreeObjectFrame(node, 4), new ValueFrame(node.Values, 1)) : Step.Reject;
            default:
                if (b == (byte)',') return Step.To(new FreeObjectFrame(node, 1));
                return b == (byte)'}' ? Step.Pop : Step.Reject;
        }
    }
}

/// <summary>An object with declared properties only (at most 64), in any order; the required ones must appear.</summary>
internal sealed class ObjectNode : Node
{
    public ObjectNode(IReadOnlyList<(string Name, Node Value, bool Required)> properties)
    {
        if (properties.Count > 64) throw new JsonSchemaException("an object schema may declare at most 64 properties");
        var sorted = properties.Select(p => (Key: System.Text.Encoding.UTF8.GetBytes(JsonText(p.Name)[1..^1]), p.Value, p.Required))
            .OrderBy(p => p.Key, ByteArrayComparer.Instance).ToArray();
        Keys = sorted.Select(p => p.Key).ToArray();
        Values = sorted.Select(p => p.Value).ToArray();
        for (int i = 0; i < sorted.Length; i++) if (sorted[i].Required) Required |= 1UL << i;
        All = sorted.Length == 64 ? ulong.MaxValue : (1UL << sorted.Length) - 1;
    }

    /// <summary>The property names as they appear between the quotes (JSON-escaped), sorted.</summary>
    public byte[][] Keys { get; }
    public Node[] Values { get; }
    public ulong Required { get; }
    public ulong All { get; }

    internal static string JsonText(string s) => System.Text.Json.JsonSerializer.Serialize(s, JsonGrammar.SerializerOptions);

    public override Step Begin(byte b) => b == (byte)'{' ? Step.To(new ObjectFrame(this, 0, 0, 0, 0, 0)) : Step.Reject;
}

/// <summary>Inside a declared-properties object. Phase 0: after '{'; 1: after ','; 5: after ', '; 2: in a key (pos bytes read,
/// candidates Keys[lo..hi)); 3: after a key (lo = the key); 4: after a value.</summary>
internal sealed class ObjectFrame(ObjectNode node, int phase, ulong used, int pos, int lo, int hi) : Frame
{
    private bool AnyUnused(int from, int to)
    {
        for (int i = from; i < to; i++) if ((used & (1UL << i)) == 0) return true;
        return false;
    }

    public override Step Feed(byte b)
    {
        var keys = node.Keys;
        switch (phase)
        {
            case 0 or 1 or 5:
                if (b == (byte)' ' && phase == 1) return Step.To(new ObjectFrame(node, 5, used, 0, 0, 0));
                if (b == (byte)'"' && AnyUnused(0, keys.Length)) return Step.To(new ObjectFrame(node, 2, used, 0, 0, keys.Length));
                return phase == 0 && b == (byte)'}' && (node.Required & ~used) == 0 ? Step.Pop : Step.Reject;
            case 2:
                if (b == (byte)'"')
                {
                    // The shortest candidate sorts first: it is the key when it ends here.
                    return keys[lo].Length == pos && (used & (1UL << lo)) == 0 ? Step.To(new ObjectFrame(node, 3, used, 0, lo, lo)) : Step.Reject;
                }
                var (nlo, nhi) = ByteArrayComparer.Narrow(keys, pos, lo, hi, b);
                return nlo < nhi && AnyUnused(nlo, nhi) ? Step.To(new ObjectFrame(node, 2, used, pos + 1, nlo, nhi)) : Step.Reject;
            case 3:
                return b == (byte)':'
                    ? Step.Push(new ObjectFrame(node, 4, used | (1UL << lo), 0, 0, 0), new ValueFrame(node.Values[lo], 1))
                    : Step.Reject;
            default:
                if (b == (byte)',' && (used & node.All) != node.All) return Step.To(new ObjectFrame(node, 1, used, 0, 0, 0));
                return b == (byte)'}' && (node.Required & ~used) == 0 ? Step.Pop : Step.Reject;
        }
    }
}

/// <summary>Ordinal comparison of byte strings, and narrowing a sorted range by the byte at a position.</summary>
internal sealed class ByteArrayComparer : IComparer<byte[]>, IEqualityComparer<byte[]>
{
    public static readonly ByteArrayComparer Instance = new();

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);
    public int GetHashCode(byte[] obj)
    {
        var h = new HashCode();
        h.AddBytes(obj);
        return h.ToHashCode();
    }

    /// <summary>Items[lo..hi) share their first <paramref name="pos"/> bytes and are sorted: the sub-range whose
    /// byte at <paramref name="pos"/> is <paramref name="b"/>.</summary>
    public static (int Lo, int Hi) Narrow(byte[][] items, int pos, int lo, int hi, byte b)
    {
        int nlo = lo;
        while (nlo < hi && (items[nlo].Length <= pos || items[nlo][pos] < b)) nlo++;
        int nhi = nlo;
        while (nhi < hi && items[nhi].Length > pos && items[nhi][pos] == b) nhi++;
        return (nlo, nhi);
    }
}
