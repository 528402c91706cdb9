using System.Text;
using Whale.Tokenization;

namespace Whale.Training.Data;

/// <summary>
/// Builds the model's vocabulary: a small byte-level BPE (the 256 byte tokens, merges learned on the task corpus with
/// the deepseek-v3 pre-tokenizer, no merge that touches a digit so numbers stay one token per digit) plus the
/// DeepSeek-V3 special tokens and the R1 chat template. Ids 0/1/2 are BOS/EOS/PAD as in DeepSeek-V3.
/// </summary>
public static class TaskTokenizer
{
    /// <summary>DeepSeek-V3 added tokens after the BPE part: (text, control?).</summary>
    private static readonly (string Text, bool Control)[] Specials =
    [
        ("<think>", false), ("</think>", false), ("<｜fim▁hole｜>", true), ("<｜fim▁begin｜>", true), ("<｜fim▁end｜>", true),
        (R1ChatTemplate.User, true), (R1ChatTemplate.Assistant, true), ("<|EOT|>", true),
        ("<｜tool▁calls▁begin｜>", true), ("<｜tool▁calls▁end｜>", true), ("<｜tool▁call▁begin｜>", true), ("<｜tool▁call▁end｜>", true),
        ("<｜tool▁outputs▁begin｜>", true), ("<｜tool▁outputs▁end｜>", true), ("<｜tool▁output▁begin｜>", true), ("<｜tool▁output▁end｜>", true),
        ("<｜tool▁sep｜>", true),
    ];

    /// <summary>Learns <paramref name="numMerges"/> merges on texts drawn from the task generator and returns the vocabulary.</summary>
    public static VocabData Build(int numMerges, int seed, int corpusProblems = 4000)
    {
        var gen = new TaskGenerator(seed);
        var texts = new List<string>();
        for (int i = 0; i < corpusProblems; i++)
        {
            var p = gen.Next(heldOut: false);
            texts.Add(p.Question);
            texts.Add(p.Completion);
        }
        return Build(texts, numMerges);
    }

    /// <summary>Learns merges on the given texts (deterministic: ties broken by ordinal order of the pair).</summary>
    public static VocabData Build(IEnumerable<string> texts, int numMerges)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var pre = PreTokenizer.Create("deepseek-v3");
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in texts)
        {
            foreach (var piece in SplitSpecials(t))
            {
                var cps = piece.EnumerateRunes().Select(r => r.Value).ToArray();
                int s = 0;
                foreach (int len in pre.Split(cps))
                {
                    var sb = new StringBuilder();
                    for (int i = s; i < s + len; i++) sb.Append(char.ConvertFromUtf32(cps[i]));
                    s += len;
                    string w = ByteLevel.Encode(Encoding.UTF8.GetBytes(sb.ToString()));
                    words[w] = words.GetValueOrDefault(w) + 1;
                }
            }
        }
        var seqs = words.Select(kv => (Symbols: kv.Key.Select(c => c.ToString()).ToList(), Count: kv.Value)).ToList();
        var tokens = new List<string> { R1ChatTemplate.Bos, R1ChatTemplate.Eos, "<｜▁pad▁｜>" };
        var types = new List<TokenType> { TokenType.Control, TokenType.Control, TokenType.Control };
        for (int b = 0; b < 256; b++)
        {
            tokens.Add(ByteLevel.ByteToChar[b].ToString());
            types.Add(TokenType.Normal);
        }
        var merges = new List<string>();
        var present = new HashSet<string>(tokens, StringComparer.Ordinal);
        for (int m = 0; m < numMerges; m++)
        {
            var pairs = new Dictionary<(string, string), int>();
            foreach (var (sym, count) in seqs)
                for (int i = 0; i + 1 < sym.Count; i++)
                {
                    if (HasDigit(sym[i]) || HasDigit(sym[i + 1])) continue;
                    var key = (sym[i], sym[i + 1]);
                    pairs[key] = pairs.GetValueOrDefault(key) + count;
                }
            if (pairs.Count == 0) break;
            var best = pairs.OrderByDescending(kv => kv.Value)
                .ThenBy(kv => kv.Key.Item1 + " " + kv.Key.Item2, StringComparer.Ordinal).First();
            if (best.Value < 2) break;
            var (l, r) = best.Key;
            string merged = l + r;
            merges.Add(l + " " + r);
            if (present.Add(merged))
            {
                tokens.Add(merged);
                types.Add(TokenType.Normal);
            }
            foreach (var (sym, _) in seqs)
                for (int i = 0; i + 1 < sym.Count; i++)
                    if (sym[i] == l && sym[i + 1] == r)
                    {
                        sym[i] = merged;
                        sym.RemoveAt(i + 1);
                    }
        }
        foreach (var (text, control) in Specials)
        {
            tokens.Add(text);
            types.Add(control ? TokenType.Control : TokenType.UserDefined);
        }
        return new VocabData
        {
            Model = "gpt2",
            Pre = "deepseek-v3",
            Tokens = [.. tokens],
            TokenTypes = [.. types],
            Merges = [.. merges],
            BosId = 0,
            EosId = 1,
            PadId = 2,
            AddBos = true,
            AddEos = false,
            ChatTemplate = R1ChatTemplate.Text,
        };
    }

    private static bool HasDigit(string s)
    {
        foreach (char c in s) if (char.IsAsciiDigit(c)) return true;
        return false;
    }

    private static IEnumerable<string> SplitSpecials(string text)
    {
        int start = 0;
        while (start < text.Length)
        {
            int best = -1, bestLen = 0;
            foreach (var (sp, _) in Specials)
            {
                int i = text.IndexOf(sp, start, StringComparison.Ordinal);
                if (i >= 0 && (best < 0 || i < best)) { best = i; bestLen = sp.Length; }
            }
            if (best < 0) { yield return text[start..]; yield break; }
            if (best > start) yield return text[start..best];
            start = best + bestLen;
        }
    }
}
