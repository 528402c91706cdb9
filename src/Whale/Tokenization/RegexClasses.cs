namespace Whale.Tokenization;

/// <summary>
/// Character classes as llama.cpp's std::regex fallback sees them. Regexes with <c>\p{..}</c> run on a "collapsed" text:
/// ASCII stays itself (so <c>\p{X}</c> only matches a fixed ASCII list), every other code point becomes one byte per
/// class, non-ASCII whitespace becomes \v. Regexes without <c>\p{..}</c> run on code points, non-ASCII whitespace again
/// replaced by \v (so it never matches a literal class).
/// </summary>
internal static class RegexClasses
{
    /// <summary>
    /// llama.cpp (c392e50, the revision of the test vectors) leaves '~' out of the ASCII members of \p{S} (and it is not
    /// in \p{P}); HF treats it as a symbol. Kept for bit-exactness with llama.cpp.
    /// </summary>
    public const bool TildeQuirk = true;

    /// <summary><c>\s</c>: ASCII \t\n\v\f\r and space, or any non-ASCII whitespace.</summary>
    public static bool Space(int c) => c < 128 ? c == ' ' || (c >= 9 && c <= 13) : UnicodeInfo.IsWhitespace(c);

    private static CharClass NonAscii(int c) => UnicodeInfo.IsWhitespace(c) ? CharClass.Separator : UnicodeInfo.ClassOf(c);

    /// <summary>Collapsed <c>\p{L}</c>.</summary>
    public static bool L(int c) => c < 128 ? (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') : NonAscii(c) == CharClass.Letter;

    /// <summary>Collapsed <c>\p{N}</c>.</summary>
    public static bool N(int c) => c < 128 ? c >= '0' && c <= '9' : NonAscii(c) == CharClass.Number;

    /// <summary>Collapsed <c>\p{M}</c> (no ASCII members).</summary>
    public static bool M(int c) => c >= 128 && NonAscii(c) == CharClass.Mark;

    /// <summary>Collapsed <c>\p{P}</c>: ASCII members !"#%&amp;'()*,-./:;?@[\]_{}.</summary>
    public static bool P(int c)
    {
        if (c >= 128)
            return NonAscii(c) == CharClass.Punctuation;
        return (c >= 0x21 && c <= 0x23) || (c >= 0x25 && c <= 0x2A) || (c >= 0x2C && c <= 0x2F) || c == 0x3A || c == 0x3B
            || c == 0x3F || c == 0x40 || (c >= 0x5B && c <= 0x5D) || c == 0x5F || c == 0x7B || c == 0x7D;
    }

    /// <summary>Collapsed <c>\p{S}</c>: ASCII members $+&lt;=&gt;^`| (and '~' only without the quirk).</summary>
    public static bool S(int c)
    {
        if (c >= 128)
            return NonAscii(c) == CharClass.Symbol;
        return c == 0x24 || c == 0x2B || (c >= 0x3C && c <= 0x3E) || c == 0x5E || c == 0x60 || c == 0x7C
            || (!TildeQuirk && c == 0x7E);
    }

    /// <summary>A code point as the wide-regex path sees it for literal classes: non-ASCII whitespace becomes \v.</summary>
    public static int Wide(int c) => c >= 128 && UnicodeInfo.IsWhitespace(c) ? 0x0B : c;

    /// <summary>The deepseek-llm letter class of its second regex (ranges, inclusive).</summary>
    private static readonly int[] LlmLetterRanges =
    [
        0x41, 0x5A, 0x61, 0x7A, 0xB5, 0xB5, 0xC0, 0xD6, 0xD8, 0xF6, 0xF8, 0x1BA, 0x1BC, 0x1BF, 0x1C4, 0x293,
        0x295, 0x2AF, 0x370, 0x373, 0x376, 0x377, 0x37B, 0x37D, 0x37F, 0x37F, 0x386, 0x386, 0x388, 0x38A,
        0x38C, 0x38C, 0x38E, 0x3A1, 0x3A3, 0x3F5, 0x3F7, 0x481, 0x48A, 0x52F, 0x531, 0x556, 0x10A0, 0x10C5,
        0x13A0, 0x13F5, 0x13F8, 0x13FD, 0x1C90, 0x1CBA, 0x1CBD, 0x1CBF, 0x1D00, 0x1D2B, 0x1D6B, 0x1D77,
        0x1D79, 0x1D9A, 0x1E00, 0x1F15, 0x1F18, 0x1F1D, 0x1F20, 0x1F45, 0x1F48, 0x1F4D, 0x1F50, 0x1F57,
        0x1F59, 0x1F59, 0x1F5B, 0x1F5B, 0x1F5D, 0x1F5D, 0x1F5F, 0x1F7D, 0x1F80, 0x1FB4, 0x1FB6, 0x1FBC,
        0x1FBE, 0x1FBE, 0x1FC2, 0x1FC4, 0x1FC6, 0x1FCC, 0x1FD0, 0x1FD3, 0x1FD6, 0x1FDB, 0x1FE0, 0x1FEC,
        0x1FF2, 0x1FF4, 0x1FF6, 0x1FFC, 0x2102, 0x2102, 0x2107, 0x2107, 0x210A, 0x2113, 0x2115, 0x2115,
        0x2119, 0x211D, 0x2124, 0x2124, 0x2126, 0x2126, 0x2128, 0x2128, 0x212A, 0x212D, 0x212F, 0x2134,
        0x2139, 0x2139, 0x213C, 0x213F, 0x2145, 0x2149, 0x214E, 0x214E, 0x2183, 0x2184, 0x2C00, 0x2C7B,
        0x2C7E, 0x2CE4, 0x2CEB, 0x2CEE, 0x2CF2, 0x2CF3, 0xA640, 0xA66D, 0xA680, 0xA69B, 0xA722, 0xA76F,
        0xA771, 0xA787, 0xA78B, 0xA78E, 0xAB70, 0xABBF, 0xFB00, 0xFB06, 0xFB13, 0xFB17, 0xFF21, 0xFF3A,
        0xFF41, 0xFF5A, 0x10400, 0x1044F, 0x104B0, 0x104D3, 0x104D8, 0x104FB, 0x10C80, 0x10CB2, 0x10CC0,
        0x10CF2, 0x118A0, 0x118DF, 0x1E900, 0x1E943,
    ];

    /// <summary>deepseek-llm regex 2's letter class (on the wide text).</summary>
    public static bool LlmLetter(int c)
    {
        c = Wide(c);
        var r = LlmLetterRanges;
        for (int i = 0; i < r.Length; i += 2)
        {
            if (c < r[i])
                return false;
            if (c <= r[i + 1])
                return true;
        }
        return false;
    }

    /// <summary>deepseek-llm regex 3's punctuation class <c>[!-/:-~！-／：-～‘-‟　-。]</c> (on the wide text).</summary>
    public static bool LlmPunct(int c)
    {
        c = Wide(c);
        return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x7E) || (c >= 0xFF01 && c <= 0xFF0F)
            || (c >= 0xFF1A && c <= 0xFF5E) || (c >= 0x2018 && c <= 0x201F) || (c >= 0x3000 && c <= 0x3002);
    }

    /// <summary><c>[一-龥ࠀ-一가-퟿]</c> of deepseek-llm / deepseek-coder (on the wide text).</summary>
    public static bool LlmCjk(int c)
    {
        c = Wide(c);
        return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x0800 && c <= 0x4E00) || (c >= 0xAC00 && c <= 0xD7FF);
    }

    /// <summary><c>[一-龥぀-ゟ゠-ヿ]</c> of deepseek-v3 (on the wide text).</summary>
    public static bool V3Cjk(int c)
    {
        c = Wide(c);
        return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x3040 && c <= 0x309F) || (c >= 0x30A0 && c <= 0x30FF);
    }
}
