using System.Globalization;

namespace Whale.Tokenization;

/// <summary>Code point classes as llama.cpp's unicode tables define them (one general category per code point plus a whitespace set).</summary>
internal enum CharClass : byte
{
    Other = 0,
    Letter,
    Number,
    Punctuation,
    Symbol,
    Mark,
    Separator,
}

/// <summary>Unicode helpers shared by the pre-tokenizers.</summary>
internal static class UnicodeInfo
{
    private static readonly CharClass[] AsciiClass = BuildAscii();

    /// <summary>Category class of a code point (letters, numbers, punctuation, symbols, marks, separators, everything else).</summary>
    public static CharClass ClassOf(int cp)
    {
        if (cp < 128)
            return AsciiClass[cp];
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return CharClass.Other;
        return FromCategory(CharUnicodeInfo.GetUnicodeCategory(cp));
    }

    private static CharClass FromCategory(UnicodeCategory c) => c switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharClass.Letter,
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharClass.Number,
        UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
            or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation => CharClass.Punctuation,
        UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
            or UnicodeCategory.OtherSymbol => CharClass.Symbol,
        UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => CharClass.Mark,
        UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => CharClass.Separator,
        _ => CharClass.Other,
    };

    private static CharClass[] BuildAscii()
    {
        var t = new CharClass[128];
        for (int i = 0; i < 128; i++)
            t[i] = FromCategory(CharUnicodeInfo.GetUnicodeCategory((char)i));
        return t;
    }

    /// <summary>The White_Space set llama.cpp uses (Python's <c>\s</c>).</summary>
    public static bool IsWhitespace(int cp) => cp switch
    {
        >= 0x09 and <= 0x0D => true,
        0x20 or 0x85 or 0xA0 or 0x1680 => true,
        >= 0x2000 and <= 0x200A => true,
        0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    public static bool IsLetter(int cp) => ClassOf(cp) == CharClass.Letter;
    public static bool IsNumber(int cp) => ClassOf(cp) == CharClass.Number;

    /// <summary>Simple lowercase mapping of one code point.</summary>
    public static int ToLower(int cp)
    {
        if (cp < 128)
            return cp is >= 'A' and <= 'Z' ? cp + 32 : cp;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return cp;
        string s = char.ConvertFromUtf32(cp);
        string l = s.ToLowerInvariant();
        return char.ConvertToUtf32(l, 0);
    }

    /// <summary>Splits a string into code points; unpaired surrogates become U+FFFD (as invalid UTF-8 does in llama.cpp).</summary>
    public static int[] ToCodePoints(ReadOnlySpan<char> s)
    {
        var result = new int[s.Length];
        int n = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                result[n++] = char.ConvertToUtf32(c, s[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                result[n++] = 0xFFFD;
            }
            else
            {
                result[n++] = c;
            }
        }
        return n == result.Length ? result : result.AsSpan(0, n).ToArray();
    }
}
