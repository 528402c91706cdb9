namespace Whale.Tokenization;

/// <summary>GPT-2's byte to unicode table: every byte maps to one printable code point.</summary>
internal static class ByteLevel
{
    /// <summary>Byte to char.</summary>
    public static readonly char[] ByteToChar = BuildForward();

    /// <summary>Char (index up to 0x143) to byte, or -1.</summary>
    public static readonly short[] CharToByte = BuildInverse();

    private static char[] BuildForward()
    {
        var map = new char[256];
        var assigned = new bool[256];
        for (int b = 0x21; b <= 0x7E; b++) { map[b] = (char)b; assigned[b] = true; }
        for (int b = 0xA1; b <= 0xAC; b++) { map[b] = (char)b; assigned[b] = true; }
        for (int b = 0xAE; b <= 0xFF; b++) { map[b] = (char)b; assigned[b] = true; }
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            if (!assigned[b])
                map[b] = (char)(256 + n++);
        }
        return map;
    }

    private static short[] BuildInverse()
    {
        var inv = new short[0x144];
        Array.Fill(inv, (short)-1);
        for (int b = 0; b < 256; b++)
            inv[ByteToChar[b]] = (short)b;
        return inv;
    }

    /// <summary>Byte-encodes UTF-8 bytes into the GPT-2 alphabet.</summary>
    public static string Encode(ReadOnlySpan<byte> utf8)
    {
        return string.Create(utf8.Length, utf8.ToArray(), static (dst, src) =>
        {
            for (int i = 0; i < src.Length; i++)
                dst[i] = ByteToChar[src[i]];
        });
    }

    /// <summary>Maps each code point of a byte-level token back to its byte; code points outside the table keep their UTF-8.</summary>
    public static byte[] Decode(string text)
    {
        var bytes = new List<byte>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c < CharToByte.Length && CharToByte[c] >= 0)
            {
                bytes.Add((byte)CharToByte[c]);
                continue;
            }
            int len = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(text.Substring(i, len)));
            i += len - 1;
        }
        return bytes.ToArray();
    }
}
