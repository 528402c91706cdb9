using System.Text;

namespace Whale.Tokenization;

/// <summary>
/// Turns a stream of token ids into text without ever splitting a character: bytes of a UTF-8 sequence that is not
/// complete yet are held back until the next token completes it. Bytes that can never become valid are emitted as
/// U+FFFD at once. Not thread-safe.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly Tokenizer _tokenizer;
    private readonly bool _renderSpecial;
    private readonly List<byte> _pending = [];

    internal StreamingDecoder(Tokenizer tokenizer, bool renderSpecial)
    {
        _tokenizer = tokenizer;
        _renderSpecial = renderSpecial;
    }

    /// <summary>Adds one token; returns the text that is now complete (possibly empty).</summary>
    public string Push(int tokenId)
    {
        _pending.AddRange(_tokenizer.TokenToBytes(tokenId, _renderSpecial));
        return PushBytes();
    }

    /// <summary>Adds raw bytes (for callers that produce bytes themselves); returns the completed text.</summary>
    public string PushBytes(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
            _pending.Add(b);
        return PushBytes();
    }

    private string PushBytes()
    {
        int keep = IncompleteTail(_pending);
        int emit = _pending.Count - keep;
        if (emit == 0)
            return "";
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending);
        string s = Encoding.UTF8.GetString(span[..emit]);
        _pending.RemoveRange(0, emit);
        return s;
    }

    /// <summary>Returns whatever is still held back (an unfinished sequence becomes U+FFFD) and resets.</summary>
    public string Flush()
    {
        if (_pending.Count == 0)
            return "";
        string s = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending));
        _pending.Clear();
        return s;
    }

    /// <summary>Length of the trailing bytes that are a proper prefix of a valid UTF-8 sequence (0 when none).</summary>
    internal static int IncompleteTail(List<byte> b)
    {
        int n = b.Count;
        // the lead byte is at most 3 bytes back from the end
        for (int back = 1; back <= 3 && back <= n; back++)
        {
            byte lead = b[n - back];
            if ((lead & 0xC0) == 0x80)
                continue;   // continuation byte, keep looking for the lead
            int need = lead switch
            {
                >= 0xC2 and <= 0xDF => 2,
                >= 0xE0 and <= 0xEF => 3,
                >= 0xF0 and <= 0xF4 => 4,
                _ => 0,
            };
            if (need <= back)
                return 0;   // ASCII, invalid lead, or complete sequence
            if (back >= 2)
            {
                byte second = b[n - back + 1];
                bool ok = lead switch
                {
                    0xE0 => second >= 0xA0,
                    0xED => second <= 0x9F,
                    0xF0 => second >= 0x90,
                    0xF4 => second <= 0x8F,
                    _ => true,
                };
                if (!ok)
                    return 0;
            }
            return back;
        }
        return 0;
    }
}
