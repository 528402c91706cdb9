namespace Whale.Tokenization;

/// <summary>
/// The GPT-2 regex <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c> as a scanner
/// over llama.cpp's code point classes.
/// </summary>
internal sealed class Gpt2Stage : SplitStage
{
    public override void Split(int[] c, int start, int end, List<int> lengths)
    {
        int pos = start;
        while (pos < end)
        {
            int n = Next(c, pos, end);
            lengths.Add(n - pos);
            pos = n;
        }
    }

    private static bool Ws(int x) => UnicodeInfo.IsWhitespace(x);

    private static int Next(int[] c, int pos, int end)
    {
        int x = c[pos];
        if (x == '\'' && pos + 1 < end)
        {
            int y = c[pos + 1];
            if (y is 's' or 't' or 'm' or 'd')
                return pos + 2;
            if (pos + 2 < end)
            {
                int z = c[pos + 2];
                if ((y == 'r' && z == 'e') || (y == 'v' && z == 'e') || (y == 'l' && z == 'l'))
                    return pos + 3;
            }
        }
        int b = x == ' ' ? pos + 1 : pos;   // position of the first char after an optional space
        bool inRange = b < end;
        int xb = inRange ? c[b] : -1;
        if (inRange && UnicodeInfo.IsLetter(xb))
        {
            int p = b + 1;
            while (p < end && UnicodeInfo.IsLetter(c[p]))
                p++;
            return p;
        }
        if (inRange && UnicodeInfo.IsNumber(xb))
        {
            int p = b + 1;
            while (p < end && UnicodeInfo.IsNumber(c[p]))
                p++;
            return p;
        }
        if (inRange && !Ws(xb))
        {
            int p = b + 1;
            while (p < end && !(Ws(c[p]) || UnicodeInfo.IsLetter(c[p]) || UnicodeInfo.IsNumber(c[p])))
                p++;
            return p;
        }
        int q = pos;
        while (q < end && Ws(c[q]))
            q++;
        int nws = q - pos;
        if (nws > 1 && q < end)
            return q - 1;
        if (nws > 0)
            return q;
        return pos + 1;
    }
}

/// <summary>
/// The llama3 regex <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>
/// as a scanner; with maxDigits 1 it is the qwen2 / deepseek-r1-qwen regex (<c>\p{N}</c>).
/// </summary>
internal sealed class Llama3Stage : SplitStage
{
    private readonly int _maxDigits;

    public Llama3Stage(int maxDigits) => _maxDigits = maxDigits;

    private static bool Ws(int x) => UnicodeInfo.IsWhitespace(x);

    public override void Split(int[] c, int start, int end, List<int> lengths)
    {
        int pos = start;
        while (pos < end)
        {
            int n = Next(c, pos, end);
            lengths.Add(n - pos);
            pos = n;
        }
    }

    private int Next(int[] c, int pos, int end)
    {
        int x = c[pos];
        if (x == '\'' && pos + 1 < end)
        {
            int y = UnicodeInfo.ToLower(c[pos + 1]);
            if (y is 's' or 't' or 'm' or 'd')
                return pos + 2;
            if (pos + 2 < end)
            {
                int z = UnicodeInfo.ToLower(c[pos + 2]);
                if ((y == 'r' && z == 'e') || (y == 'v' && z == 'e') || (y == 'l' && z == 'l'))
                    return pos + 3;
            }
        }
        bool isNum = UnicodeInfo.IsNumber(x);
        if (!(x == '\r' || x == '\n' || isNum))
        {
            if (UnicodeInfo.IsLetter(x) || (pos + 1 < end && UnicodeInfo.IsLetter(c[pos + 1])))
            {
                int p = pos + 1;
                while (p < end && UnicodeInfo.IsLetter(c[p]))
                    p++;
                return p;
            }
        }
        if (isNum)
        {
            int p = pos + 1;
            while (p < end && p - pos < _maxDigits && UnicodeInfo.IsNumber(c[p]))
                p++;
            return p;
        }
        int b = x == ' ' ? pos + 1 : pos;
        bool punct = b < end ? !(Ws(c[b]) || UnicodeInfo.IsLetter(c[b]) || UnicodeInfo.IsNumber(c[b])) : true;
        if (punct)
        {
            int p = b;
            while (p < end && !(Ws(c[p]) || UnicodeInfo.IsLetter(c[p]) || UnicodeInfo.IsNumber(c[p])))
                p++;
            while (p < end && c[p] is '\r' or '\n')
                p++;
            return p;
        }
        int q = pos;
        int lastNl = -1;
        while (q < end && Ws(c[q]))
        {
            if (c[q] is '\r' or '\n')
                lastNl = q;
            q++;
        }
        if (lastNl >= 0)
            return lastNl + 1;
        if (q - pos > 1 && q < end)
            return q - 1;
        if (q > pos)
            return q;
        return pos + 1;
    }
}
