namespace Whale.Tokenization;

/// <summary>Hand-written matchers for the regexes of llama.cpp's pre-tokenizers (match anchored at pos; -1: none).</summary>
internal static class Matchers
{
    /// <summary><c>[\r\n]</c></summary>
    public static int NewlineChar(int[] c, int pos, int end) => c[pos] is '\r' or '\n' ? pos + 1 : -1;

    private static int OptionalSpaceRun(int[] c, int pos, int end, Func<int, bool> cls)
    {
        int p;
        if (RegexClasses.Space(c[pos]) && pos + 1 < end && cls(c[pos + 1]))
            p = pos + 2;
        else if (cls(c[pos]))
            p = pos + 1;
        else
            return -1;
        while (p < end && cls(c[p]))
            p++;
        return p;
    }

    private static int Run(int[] c, int pos, int end, Func<int, bool> cls)
    {
        if (!cls(c[pos]))
            return -1;
        int p = pos + 1;
        while (p < end && cls(c[p]))
            p++;
        return p;
    }

    /// <summary>deepseek-llm: <c>\s?[A-Za-zµÀ-Ö…]+</c></summary>
    public static int LlmLetters(int[] c, int pos, int end) => OptionalSpaceRun(c, pos, end, RegexClasses.LlmLetter);

    /// <summary>deepseek-llm: <c>\s?[!-/:-~！-／：-～‘-‟　-。]+</c></summary>
    public static int LlmPunctuation(int[] c, int pos, int end) => OptionalSpaceRun(c, pos, end, RegexClasses.LlmPunct);

    /// <summary><c>[一-龥ࠀ-一가-퟿]+</c></summary>
    public static int LlmCjkRun(int[] c, int pos, int end) => Run(c, pos, end, RegexClasses.LlmCjk);

    /// <summary><c>\p{N}+</c></summary>
    public static int NumberRun(int[] c, int pos, int end) => Run(c, pos, end, RegexClasses.N);

    /// <summary><c>\p{N}</c></summary>
    public static int SingleNumber(int[] c, int pos, int end) => RegexClasses.N(c[pos]) ? pos + 1 : -1;

    /// <summary>deepseek-coder: <c>\s?\p{L}+</c></summary>
    public static int SpaceLetters(int[] c, int pos, int end) => OptionalSpaceRun(c, pos, end, RegexClasses.L);

    /// <summary>deepseek-coder: <c>\s?\p{P}+</c></summary>
    public static int SpacePunctuation(int[] c, int pos, int end) => OptionalSpaceRun(c, pos, end, RegexClasses.P);

    /// <summary><c>\p{N}{1,3}</c></summary>
    public static int Numbers1To3(int[] c, int pos, int end)
    {
        if (!RegexClasses.N(c[pos]))
            return -1;
        int p = pos + 1;
        while (p < end && p < pos + 3 && RegexClasses.N(c[p]))
            p++;
        return p;
    }

    /// <summary>deepseek-v3: <c>[一-龥぀-ゟ゠-ヿ]+</c></summary>
    public static int V3CjkRun(int[] c, int pos, int end) => Run(c, pos, end, RegexClasses.V3Cjk);

    private static bool AsciiLetter(int x) => (x >= 'A' && x <= 'Z') || (x >= 'a' && x <= 'z');

    private static bool AsciiPunct(int x) => (x >= 0x21 && x <= 0x2F) || (x >= 0x3A && x <= 0x40) || (x >= 0x5B && x <= 0x60) || (x >= 0x7B && x <= 0x7E);

    private static bool LM(int x) => RegexClasses.L(x) || RegexClasses.M(x);

    private static bool PS(int x) => RegexClasses.P(x) || RegexClasses.S(x);

    /// <summary>
    /// deepseek-v3's main regex:
    /// <c>[!"#$%&amp;'()*+,\-./:;&lt;=&gt;?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>
    /// </summary>
    public static int V3Main(int[] c, int pos, int end)
    {
        int x = c[pos];
        int p;
        // [punct][A-Za-z]+
        if (AsciiPunct(x) && pos + 1 < end && AsciiLetter(c[pos + 1]))
        {
            p = pos + 2;
            while (p < end && AsciiLetter(c[p]))
                p++;
            return p;
        }
        // [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
        bool prefixOk = !(x == '\r' || x == '\n' || RegexClasses.L(x) || RegexClasses.P(x) || RegexClasses.S(x));
        if (prefixOk && pos + 1 < end && LM(c[pos + 1]))
        {
            p = pos + 2;
            while (p < end && LM(c[p]))
                p++;
            return p;
        }
        if (LM(x))
        {
            p = pos + 1;
            while (p < end && LM(c[p]))
                p++;
            return p;
        }
        // ' ?[\p{P}\p{S}]+[\r\n]*'
        int q = x == ' ' && pos + 1 < end && PS(c[pos + 1]) ? pos + 1 : pos;
        if (PS(c[q]))
        {
            p = q + 1;
            while (p < end && PS(c[p]))
                p++;
            while (p < end && c[p] is '\r' or '\n')
                p++;
            return p;
        }
        return WhitespaceTail(c, pos, end);
    }

    /// <summary><c>\s*[\r\n]+|\s+(?!\S)|\s+</c> at pos.</summary>
    private static int WhitespaceTail(int[] c, int pos, int end)
    {
        if (!RegexClasses.Space(c[pos]))
            return -1;
        int p = pos;
        int lastNl = -1;
        while (p < end && RegexClasses.Space(c[p]))
        {
            if (c[p] is '\r' or '\n')
                lastNl = p;
            p++;
        }
        if (lastNl >= 0)
            return lastNl + 1;
        if (p < end && p - pos > 1)
            return p - 1;
        return p;
    }
}
