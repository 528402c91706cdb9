using System.Text.Json;
using Whale.Gguf;

namespace Whale.Tokenization;

/// <summary>
/// A tokenizer vocabulary as GGUF stores it (<c>tokenizer.ggml.*</c>): tokens in id order with their types, scores or
/// merges, and the special token ids. Read it from a GGUF file, build it from a Hugging Face <c>tokenizer.json</c>,
/// or write it into a GGUF file.
/// </summary>
public sealed class VocabData
{
    /// <summary><c>tokenizer.ggml.model</c>: "gpt2" (byte-level BPE) or "llama" (SentencePiece).</summary>
    public string Model { get; set; } = "gpt2";

    /// <summary><c>tokenizer.ggml.pre</c>: the pre-tokenizer name, or null (llama.cpp then uses "default").</summary>
    public string? Pre { get; set; }

    /// <summary>Token texts in id order.</summary>
    public string[] Tokens { get; set; } = [];

    /// <summary>Token types in id order (same length as <see cref="Tokens"/>).</summary>
    public TokenType[] TokenTypes { get; set; } = [];

    /// <summary>Token scores (SentencePiece), or null.</summary>
    public float[]? Scores { get; set; }

    /// <summary>BPE merges "left right" in rank order, or null.</summary>
    public string[]? Merges { get; set; }

    /// <summary>Beginning-of-sequence token id.</summary>
    public int BosId { get; set; }

    /// <summary>End-of-sequence token id.</summary>
    public int EosId { get; set; }

    /// <summary>End-of-turn token id, or null when the file names none.</summary>
    public int? EotId { get; set; }

    /// <summary>End-of-message token id, or null.</summary>
    public int? EomId { get; set; }

    /// <summary>Padding token id, or null.</summary>
    public int? PadId { get; set; }

    /// <summary>Unknown token id, or null.</summary>
    public int? UnkId { get; set; }

    /// <summary>Whether encoding with special tokens prepends <see cref="BosId"/>.</summary>
    public bool AddBos { get; set; }

    /// <summary>Whether encoding with special tokens appends <see cref="EosId"/>.</summary>
    public bool AddEos { get; set; }

    /// <summary>SentencePiece only: whether raw text gets a leading space (<c>tokenizer.ggml.add_space_prefix</c>).</summary>
    public bool AddSpacePrefix { get; set; }

    /// <summary><c>tokenizer.chat_template</c>, or null.</summary>
    public string? ChatTemplate { get; set; }

    /// <summary>Number of tokens.</summary>
    public int Count => Tokens.Length;

    private const string K = "tokenizer.ggml.";

    /// <summary>Reads the tokenizer keys of a GGUF file, filling in llama.cpp's defaults for missing ones.</summary>
    /// <exception cref="NotSupportedException">Unknown <c>tokenizer.ggml.model</c> or <c>tokenizer.ggml.pre</c>.</exception>
    /// <exception cref="InvalidDataException">The tokens are missing or the arrays disagree in length.</exception>
    public static VocabData FromGguf(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string model = file.GetString(K + "model") ?? throw new InvalidDataException("GGUF file has no tokenizer.ggml.model");
        var v = new VocabData { Model = model };
        if (model != "gpt2" && model != "llama")
            throw new NotSupportedException($"unknown tokenizer model '{model}' (tokenizer.ggml.model); supported: gpt2, llama");
        if (!file.TryGetValue(K + "tokens", out var tokensValue))
            throw new InvalidDataException("GGUF file has no tokenizer.ggml.tokens");
        v.Tokens = tokensValue.AsStringArray();
        int n = v.Tokens.Length;

        v.TokenTypes = new TokenType[n];
        if (file.TryGetValue(K + "token_type", out var typesValue))
        {
            int[] t = typesValue.AsInt32Array();
            if (t.Length != n)
                throw new InvalidDataException($"tokenizer.ggml.token_type has {t.Length} entries for {n} tokens");
            for (int i = 0; i < n; i++)
                v.TokenTypes[i] = (TokenType)t[i];
        }
        else
        {
            Array.Fill(v.TokenTypes, TokenType.Normal);
        }
        if (file.TryGetValue(K + "scores", out var scoresValue))
            v.Scores = scoresValue.AsSingleArray();
        if (file.TryGetValue(K + "merges", out var mergesValue))
            v.Merges = mergesValue.AsStringArray();

        if (model == "gpt2")
        {
            if (v.Merges is null)
                throw new InvalidDataException("cannot find tokenizer merges in model file (tokenizer.ggml.merges)");
            v.Pre = file.GetString(K + "pre");
            if (!PreTokenizer.IsKnown(v.Pre))
                PreTokenizer.Create(v.Pre);   // throws naming it
            v.BosId = 11;
            v.EosId = 11;
            v.AddBos = PreTokenizer.Create(v.Pre).AddBosDefault;
            v.AddSpacePrefix = false;
        }
        else
        {
            v.Pre = file.GetString(K + "pre");
            v.BosId = 1;
            v.EosId = 2;
            v.UnkId = 0;
            v.AddBos = true;
            v.AddSpacePrefix = true;
        }

        int? ReadId(string key)
        {
            if (!file.TryGetValue(K + key, out var value))
                return null;
            long id = value.AsInt64();
            return id >= 0 && id < n ? (int)id : null;
        }

        v.BosId = ReadId("bos_token_id") ?? v.BosId;
        v.EosId = ReadId("eos_token_id") ?? v.EosId;
        v.EotId = ReadId("eot_token_id");
        v.EomId = ReadId("eom_token_id");
        v.PadId = ReadId("padding_token_id");
        v.UnkId = ReadId("unknown_token_id") ?? v.UnkId;
        v.AddBos = file.GetBool(K + "add_bos_token", v.AddBos);
        v.AddEos = file.GetBool(K + "add_eos_token", false);
        v.AddSpacePrefix = file.GetBool(K + "add_space_prefix", v.AddSpacePrefix);
        v.ChatTemplate = file.GetString("tokenizer.chat_template");
        return v;
    }

    /// <summary>Writes the tokenizer keys (the inverse of <see cref="FromGguf"/>).</summary>
    public void WriteTo(GgufWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.SetString(K + "model", Model);
        if (Pre is not null)
            w.SetString(K + "pre", Pre);
        w.Set(K + "tokens", GgufValue.FromStringArray(Tokens));
        var types = new int[TokenTypes.Length];
        for (int i = 0; i < types.Length; i++)
            types[i] = (int)TokenTypes[i];
        w.Set(K + "token_type", GgufValue.FromInt32Array(types));
        if (Scores is not null)
            w.Set(K + "scores", GgufValue.FromFloat32Array(Scores));
        if (Merges is not null)
            w.Set(K + "merges", GgufValue.FromStringArray(Merges));
        w.SetUInt32(K + "bos_token_id", (uint)BosId);
        w.SetUInt32(K + "eos_token_id", (uint)EosId);
        if (EotId is int eot)
            w.SetUInt32(K + "eot_token_id", (uint)eot);
        if (EomId is int eom)
            w.SetUInt32(K + "eom_token_id", (uint)eom);
        if (PadId is int pad)
            w.SetUInt32(K + "padding_token_id", (uint)pad);
        if (UnkId is int unk)
            w.SetUInt32(K + "unknown_token_id", (uint)unk);
        w.SetBool(K + "add_bos_token", AddBos);
        w.SetBool(K + "add_eos_token", AddEos);
        if (Model == "llama")
            w.SetBool(K + "add_space_prefix", AddSpacePrefix);
        if (ChatTemplate is not null)
            w.SetString("tokenizer.chat_template", ChatTemplate);
    }

    /// <summary>
    /// Builds a GGUF-style byte-level BPE vocabulary from a Hugging Face <c>tokenizer.json</c> the way llama.cpp's
    /// converter does: tokens in id order including added tokens, ids nothing maps to filled with "[PAD{i}]" (Unused);
    /// added tokens that are special, or look special (<c>&lt;|…|&gt;</c>, <c>&lt;｜…｜&gt;</c>, "&lt;pad&gt;", …), are
    /// Control, other added tokens UserDefined (with ▁ written as a space), the rest Normal; merges as "a b".
    /// BOS/EOS/PAD ids, add_bos/add_eos and the chat template come from <c>tokenizer_config.json</c> when given.
    /// </summary>
    /// <param name="tokenizerJsonPath">Path of tokenizer.json.</param>
    /// <param name="pre">The pre-tokenizer name to record (e.g. "deepseek-v3", "qwen2", "llama-bpe").</param>
    /// <param name="tokenizerConfigPath">Optional tokenizer_config.json.</param>
    /// <param name="vocabSize">Optional vocabulary size (the model's embedding rows) when larger than the ids used.</param>
    public static VocabData FromHuggingFace(string tokenizerJsonPath, string pre, string? tokenizerConfigPath = null, int vocabSize = 0)
    {
        if (!PreTokenizer.IsKnown(pre))
            PreTokenizer.Create(pre);
        using var stream = File.OpenRead(tokenizerJsonPath);
        using var doc = JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 256 });
        var root = doc.RootElement;
        var model = root.GetProperty("model");
        if (model.TryGetProperty("type", out var typeEl) && typeEl.ValueKind == JsonValueKind.String && typeEl.GetString() != "BPE")
            throw new NotSupportedException($"tokenizer.json model type '{typeEl.GetString()}' is not supported (BPE only)");

        var byId = new Dictionary<int, string>();
        int maxId = -1;
        foreach (var p in model.GetProperty("vocab").EnumerateObject())
        {
            int id = p.Value.GetInt32();
            byId[id] = p.Name;
            maxId = Math.Max(maxId, id);
        }
        var added = new Dictionary<int, (string Content, bool Special)>();
        if (root.TryGetProperty("added_tokens", out var addedEl) && addedEl.ValueKind == JsonValueKind.Array)
        {
            foreach (var a in addedEl.EnumerateArray())
            {
                int id = a.GetProperty("id").GetInt32();
                string content = a.GetProperty("content").GetString() ?? "";
                bool special = a.TryGetProperty("special", out var sp) && sp.ValueKind == JsonValueKind.True;
                added[id] = (content, special);
                byId[id] = content;
                maxId = Math.Max(maxId, id);
            }
        }

        int n = Math.Max(maxId + 1, vocabSize);
        var tokens = new string[n];
        var types = new TokenType[n];
        for (int i = 0; i < n; i++)
        {
            if (!byId.TryGetValue(i, out var text))
            {
                tokens[i] = $"[PAD{i}]";
                types[i] = TokenType.Unused;
            }
            else if (added.TryGetValue(i, out var a))
            {
                if (a.Special || LooksSpecial(text))
                {
                    tokens[i] = text;
                    types[i] = TokenType.Control;
                }
                else
                {
                    tokens[i] = text.Replace('\u2581', ' ');
                    types[i] = TokenType.UserDefined;
                }
            }
            else
            {
                tokens[i] = text;
                types[i] = TokenType.Normal;
            }
        }

        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var mergesEl) && mergesEl.ValueKind == JsonValueKind.Array)
        {
            foreach (var m in mergesEl.EnumerateArray())
            {
                if (m.ValueKind == JsonValueKind.String)
                    merges.Add(m.GetString()!);
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
                    merges.Add(m[0].GetString() + " " + m[1].GetString());
            }
        }

        var v = new VocabData
        {
            Model = "gpt2",
            Pre = pre,
            Tokens = tokens,
            TokenTypes = types,
            Merges = merges.ToArray(),
            BosId = 11 < n ? 11 : 0,
            EosId = 11 < n ? 11 : 0,
            AddBos = PreTokenizer.Create(pre).AddBosDefault,
        };

        // the post-processor of tokenizer.json says whether a BOS is prepended (used when no config overrides it)
        if (root.TryGetProperty("post_processor", out var post) && post.ValueKind == JsonValueKind.Object
            && post.TryGetProperty("type", out var postType) && postType.GetString() == "TemplateProcessing"
            && post.TryGetProperty("single", out var single) && single.ValueKind == JsonValueKind.Array && single.GetArrayLength() > 0
            && single[0].TryGetProperty("SpecialToken", out var firstSpecial))
        {
            string? bosText = firstSpecial.GetProperty("id").GetString();
            int? bos = bosText is null ? null : FindId(tokens, bosText);
            if (bos is int b)
            {
                v.BosId = b;
                v.AddBos = true;
            }
        }

        if (tokenizerConfigPath is not null)
        {
            using var cs = File.OpenRead(tokenizerConfigPath);
            using var cdoc = JsonDocument.Parse(cs);
            var c = cdoc.RootElement;
            if (TokenText(c, "bos_token") is string bosText && FindId(tokens, bosText) is int bos)
                v.BosId = bos;
            if (TokenText(c, "eos_token") is string eosText && FindId(tokens, eosText) is int eos)
                v.EosId = eos;
            if (TokenText(c, "pad_token") is string padText && FindId(tokens, padText) is int pad)
                v.PadId = pad;
            if (TokenText(c, "unk_token") is string unkText && FindId(tokens, unkText) is int unk)
                v.UnkId = unk;
            if (c.TryGetProperty("add_bos_token", out var ab) && ab.ValueKind is JsonValueKind.True or JsonValueKind.False)
                v.AddBos = ab.GetBoolean();
            if (c.TryGetProperty("add_eos_token", out var ae) && ae.ValueKind is JsonValueKind.True or JsonValueKind.False)
                v.AddEos = ae.GetBoolean();
            if (c.TryGetProperty("chat_template", out var ct))
            {
                if (ct.ValueKind == JsonValueKind.String)
                {
                    v.ChatTemplate = ct.GetString();
                }
                else if (ct.ValueKind == JsonValueKind.Array)
                {
                    foreach (var t in ct.EnumerateArray())
                    {
                        if (t.TryGetProperty("name", out var nm) && nm.GetString() == "default")
                            v.ChatTemplate = t.GetProperty("template").GetString();
                    }
                }
            }
        }
        return v;
    }

    private static string? TokenText(JsonElement config, string key)
    {
        if (!config.TryGetProperty(key, out var el))
            return null;
        if (el.ValueKind == JsonValueKind.String)
            return el.GetString();
        if (el.ValueKind == JsonValueKind.Object && el.TryGetProperty("content", out var content))
            return content.GetString();
        return null;
    }

    private static int? FindId(string[] tokens, string text)
    {
        for (int i = tokens.Length - 1; i >= 0; i--)
        {
            if (tokens[i] == text)
                return i;
        }
        return null;
    }

    /// <summary>The converter's test for added tokens that ought to be control tokens although not marked special.</summary>
    internal static bool LooksSpecial(string text) =>
        text is "<pad>" or "<mask>" or "<2mass>" or "[@BOS@]"
        || (text.StartsWith("<|", StringComparison.Ordinal) && text.EndsWith("|>", StringComparison.Ordinal))
        || (text.StartsWith("<\uFF5C", StringComparison.Ordinal) && text.EndsWith("\uFF5C>", StringComparison.Ordinal))
        || (text.StartsWith("<unused", StringComparison.Ordinal) && text.EndsWith('>'));
}
