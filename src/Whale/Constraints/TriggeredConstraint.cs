using System.Text;

namespace Whale.Constraints;

/// <summary>
/// Free text until the output contains <c>trigger</c>; from there on the grammar applies (the bytes from the trigger
/// on are fed to it). Used for tool calls under <c>tool_choice: auto</c>: the model may answer in text, but once it
/// starts a call, the call is forced to be well formed with schema-valid arguments.
/// </summary>
internal sealed class TriggeredConstraint(JsonGrammar grammar, TokenIndex index, string trigger) : ITokenConstraint
{
    private readonly byte[] _trigger = Encoding.UTF8.GetBytes(trigger);
    private readonly List<byte> _text = [];
    private GrammarConstraint? _inner;
    private bool _ended;

    public bool IsComplete => _ended || (_inner?.IsComplete ?? false);

    /// <summary>True once the trigger appeared and the grammar is in force.</summary>
    public bool Triggered => _inner is not null;

    public void ApplyMask(Span<float> logits) => _inner?.ApplyMask(logits);

    public void Accept(int token)
    {
        if (_inner is not null)
        {
            _inner.Accept(token);
            return;
        }
        if (Array.IndexOf(index.Eog, token) >= 0)
        {
            _ended = true;
            return;
        }
        int from = Math.Max(0, _text.Count - _trigger.Length + 1);
        _text.AddRange(index.Bytes(token));
        int at = IndexOf(from);
        if (at < 0) return;
        _inner = new GrammarConstraint(grammar, index);
        _inner.AcceptBytes(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_text)[at..]);
    }

    private int IndexOf(int from)
    {
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_text);
        int i = span[from..].IndexOf(_trigger);
        return i < 0 ? -1 : from + i;
    }
}
