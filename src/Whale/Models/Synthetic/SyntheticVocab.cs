using Whale.Tokenization;

namespace Whale.Models.Synthetic;

/// <summary>Builds vocabularies for synthetic models from real tokenizer files, optionally cut down in size.</summary>
public static class SyntheticVocab
{
    /// <summary>Known tokenizer sources under shared/tokenizers: name -> (folder, pre-tokenizer).</summary>
    public static IReadOnlyDictionary<string, (string Folder, string Pre)> Sources { get; } = new Dictionary<string, (string, string)>(StringComparer.Ordinal)
    {
        ["deepseek-r1-distill-qwen"] = ("deepseek-r1-distill-qwen", "deepseek-r1-qwen"),
        ["qwen2.5"] = ("qwen2.5", "qwen2"),
        ["deepseek-v3"] = ("deepseek-v3", "deepseek-v3"),
    };

    /// <summary>Loads <c>tokenizer.json</c> (+ <c>tokenizer_config.json</c>) of a known source from a tokenizers folder.</summary>
    public static VocabData Load(string tokenizersDir, string source)
    {
        if (!Sources.TryGetValue(source, out var s))
            throw new ArgumentException($"unknown vocabulary '{source}' (known: {string.Join(", ", Sources.Keys)})");
        string dir = Path.Combine(tokenizersDir, s.Folder);
        string config = Path.Combine(dir, "tokenizer_config.json");
        return VocabData.FromHuggingFace(Path.Combine(dir, "tokenizer.json"), s.Pre, File.Exists(config) ? config : null);
    }

    /// <summary>
    /// Keeps the first <paramref name="normalTokens"/> ids (byte-level BPE vocabularies list bytes and early merges
    /// first) plus every special/added token renumbered after them, and the merges whose parts and result survive.
    /// The result is a smaller but real tokenizer that both Whale and llama.cpp load.
    /// </summary>
    public static VocabData Truncate(VocabData v, int normalTokens)
    {
        if (normalTokens >= v.Tokens.Length) return v;
        var map = new Dictionary<int, int>();
        var tokens = new List<string>();
        var types = new List<TokenType>();
        for (int i = 0; i < v.Tokens.Length; i++)
        {
            bool keep = i < normalTokens ? v.TokenTypes[i] != TokenType.Unused : v.TokenTypes[i] is TokenType.Control or TokenType.UserDefined;
            if (!keep) continue;
            map[i] = tokens.Count;
            tokens.Add(v.Tokens[i]);
            types.Add(v.TokenTypes[i]);
        }
        var present = new HashSet<string>(tokens, StringComparer.Ordinal);
        var merges = new List<string>();
        foreach (var m in v.Merges ?? [])
        {
            int sp = m.IndexOf(' ', 1);
            if (sp < 0) continue;
            string a = m[..sp], b = m[(sp + 1)..];
            if (present.Contains(a) && present.Contains(b) && present.Contains(a + b)) merges.Add(m);
        }
        int? Map(int? id) => id is { } x && map.TryGetValue(x, out var y) ? y : null;
        return new VocabData
        {
            Model = v.Model,
            Pre = v.Pre,
            Tokens = [.. tokens],
            TokenTypes = [.. types],
            Scores = null,
            Merges = [.. merges],
            BosId = Map(v.BosId) ?? 0,
            EosId = Map(v.EosId) ?? 0,
            EotId = Map(v.EotId),
            EomId = Map(v.EomId),
            PadId = Map(v.PadId),
            UnkId = Map(v.UnkId),
            AddBos = v.AddBos,
            AddEos = v.AddEos,
            AddSpacePrefix = v.AddSpacePrefix,
            ChatTemplate = v.ChatTemplate,
        };
    }
}
