using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Whale.Constraints;
using Whale.Engine;
using Whale.Gguf;
using Whale.Models.Synthetic;
using Whale.Sampling;
using Whale.Tests.TestData;
using Whale.Tokenization;

namespace Whale.Tests.Constraints;

public class JsonGrammarTests
{
    private const string PersonSchema = """
        {"type":"object","properties":{
          "name":{"type":"string","maxLength":12},
          "age":{"type":"integer"},
          "tags":{"type":"array","items":{"type":"string","enum":["a","b","c\"d"]},"maxItems":3},
          "ok":{"type":["boolean","null"]},
          "score":{"type":"number"},
          "pet":{"type":"object","properties":{"kind":{"const":"cat"}},"required":["kind"],"additionalProperties":false}
        },"required":["name","age","pet"],"additionalProperties":false}
        """;

    /// <summary>Feeds text byte by byte; true when every byte is allowed.</summary>
    private static (bool Accepted, bool Complete) Run(JsonGrammar g, string text)
    {
        MachineState? s = new(new RootFrame(g.Root, g.LeadingWhitespace, false), null);
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            s = MachineState.Feed(s, b);
            if (s is null) return (false, false);
        }
        return (true, s.IsComplete);
    }

    [Theory]
    [InlineData("""{"name":"Al","age":3,"pet":{"kind":"cat"}}""", true)]
    [InlineData("""{"age": -12, "name": "é😀", "pet": {"kind": "cat"}, "tags": ["a", "c\"d"], "ok": null, "score": 1.5e3}""", true)]
    [InlineData("""{"name":"Al","age":3}""", false)]                       // pet required
    [InlineData("""{"name":"Al","age":3.5,"pet":{"kind":"cat"}}""", false)] // integer
    [InlineData("""{"name":"Al","age":3,"pet":{"kind":"dog"}}""", false)]
    [InlineData("""{"name":"Al","nope":1}""", false)]
    [InlineData("""{"name":"0123456789abc","age":1,"pet":{"kind":"cat"}}""", false)] // maxLength
    [InlineData("""{"name":"Al","name":"B","age":3,"pet":{"kind":"cat"}}""", false)] // duplicate key
    public void Schema_accepts_exactly_valid_documents(string json, bool valid)
    {
        var g = JsonGrammar.FromSchema(PersonSchema);
        var (accepted, complete) = Run(g, json);
        Assert.Equal(valid, accepted && complete);
    }

    [Theory]
    [InlineData("""{"a":[1,2,{"b":null}],"c":"x\u00e9\n"}""", true)]
    [InlineData("[true,false]", true)]
    [InlineData("""{"a":01}""", false)]
    [InlineData("""{"a":"\ud800"}""", false)]
    [InlineData("""{"a":1,}""", false)]
    [InlineData("{\"a\":\"\u0001\"}", false)]
    public void Any_json(string json, bool valid)
    {
        var (accepted, complete) = Run(JsonGrammar.AnyJson, json);
        Assert.Equal(valid, accepted && complete);
    }

    [Theory]
    [InlineData("""{"type":"string","pattern":"^a"}""", "pattern")]
    [InlineData("""{"type":"object","properties":{"a":{"$ref":"#/x"}}}""", "$ref")]
    [InlineData("""{"type":"strin"}""", "unknown type")]
    [InlineData("""{"type":"object","properties":{"a":{}},"required":["b"]}""", "'b'")]
    [InlineData("""{"anyOf":[{"type":"string"},{"type":"string","maxLength":3}]}""", "different JSON kinds")]
    public void Bad_schemas_are_rejected_with_a_clear_message(string schema, string expected)
    {
        var e = Assert.Throws<JsonSchemaException>(() => JsonGrammar.FromSchema(schema));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tool_call_grammar_accepts_the_template_syntax()
    {
        var args = JsonGrammar.FromSchema("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}""");
        var g = JsonGrammar.ToolCalls(ToolCallSyntax.Hermes, [("get_weather", args), ("get_time", JsonGrammar.AnyObject)], parallel: true);
        Assert.Equal((true, true), Run(g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":\"Paris\"}}\n</tool_call>"));
        Assert.Equal((true, true), Run(g, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":\"X\"}}\n</tool_call>"));
        Assert.False(Run(g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}").Accepted);
        var ds = JsonGrammar.ToolCalls(ToolCallSyntax.DeepSeek, [("get_weather", args)], parallel: false);
        Assert.Equal((true, true), Run(ds, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\":\"P\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"));
    }

    [Fact]
    public void Random_weights_always_produce_schema_valid_json()
    {
        using var model = WhaleModel.Load(SyntheticModels.Get("qwen2", GgmlType.Q8_0), new ModelOptions { Threads = 2 });
        var grammar = JsonGrammar.FromSchema(PersonSchema);
        using var gen = model.CreateGenerator(512);
        var prompt = model.Tokenizer.Encode("Give me JSON:", addSpecial: true);
        for (int seed = 0; seed < 12; seed++)
        {
            var options = new GenerationOptions
            {
                Sampling = new SamplingParams { Temperature = 1.0f, Seed = (ulong)seed },
                MaxTokens = 400,
                ParseReasoning = false,
                Constraint = () => grammar.CreateConstraint(model.Tokenizer),
            };
            var events = gen.Generate(prompt, options).ToList();
            string text = string.Concat(events.Select(e => e.Content));
            Assert.Equal("stop", events[^1].FinishReason);
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            Assert.True(root.GetProperty("name").GetString()!.Length <= 12);
            Assert.True(root.GetProperty("age").TryGetInt64(out _));
            Assert.Equal("cat", root.GetProperty("pet").GetProperty("kind").GetString());
        }
    }

    [Fact]
    public void Mask_cost_on_the_full_qwen_vocabulary()
    {
        var vocab = SyntheticVocab.Load(Path.Combine(TestPaths.Shared, "tokenizers"), "deepseek-r1-distill-qwen");
        var tok = new Tokenizer(vocab);
        var sw = Stopwatch.StartNew();
        var c = (GrammarConstraint)JsonGrammar.FromSchema(PersonSchema).CreateConstraint(tok);
        var build = sw.Elapsed;
        var logits = new float[tok.VocabSize];
        string doc = """{"name":"Alice Smith","age":42,"tags":["a","b"],"ok":true,"score":3.25,"pet":{"kind":"cat"}}""";
        var ids = tok.Encode(doc, addSpecial: false);
        foreach (int id in ids)
        {
            c.ApplyMask(logits);
            Assert.False(float.IsNegativeInfinity(logits[id]), $"token {id} '{tok.GetTokenText(id)}' was masked");
            Array.Clear(logits);
            c.Accept(id);
        }
        Assert.True(c.IsComplete);
        double perToken = c.MaskTime.TotalMilliseconds / c.MaskCount;
        Console.WriteLine($"vocab {tok.VocabSize}: index build {build.TotalMilliseconds:F0} ms, mask {perToken:F2} ms/token over {c.MaskCount} tokens");
        Assert.True(perToken < 50, $"mask cost {perToken:F1} ms per token");
    }
}

public class MaskBenchmarkTests
{
    /// <summary>Per-token mask cost on the full 151,665-token R1-Distill-Qwen vocabulary (numbers for docs/BENCHMARKS.md).</summary>
    [Fact]
    public void Mask_cost_breakdown()
    {
        var tok = new Tokenizer(SyntheticVocab.Load(Path.Combine(TestPaths.Shared, "tokenizers"), "deepseek-r1-distill-qwen"));
        var sw = Stopwatch.StartNew();
        _ = JsonGrammar.AnyJson.CreateConstraint(tok);
        Console.WriteLine($"index build: {sw.Elapsed.TotalMilliseconds:F0} ms (once per tokenizer)");
        var cases = new (string Name, JsonGrammar Grammar, string Doc)[]
        {
            ("json_schema", JsonGrammar.FromSchema("""{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}},"bio":{"type":"string"}},"required":["name","age","tags","bio"],"additionalProperties":false}"""),
                """{"name": "Alice Smith", "age": 42, "tags": ["admin", "ops"], "bio": "Alice has worked on distributed systems for twenty years and likes hiking, chess and long walks by the river."}"""),
            ("json_object", JsonGrammar.AnyObject,
                """{"id": 17, "items": [{"sku": "A-1", "qty": 2, "price": 9.5}, {"sku": "B-22", "qty": 1, "price": 120}], "note": "deliver after 5pm, ring twice", "paid": true}"""),
        };
        foreach (var (name, grammar, doc) in cases)
        {
            var times = new List<(double Ms, bool InString)>();
            var slow = new List<(double Ms, string After)>();
            var logits = new float[tok.VocabSize];
            for (int rep = 0; rep < 5; rep++)
            {
                var c = (GrammarConstraint)grammar.CreateConstraint(tok);
                bool inString = false;
                foreach (int id in tok.Encode(doc, addSpecial: false))
                {
                    var t0 = Stopwatch.GetTimestamp();
                    c.ApplyMask(logits);
                    double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    Assert.False(float.IsNegativeInfinity(logits[id]));
                    if (rep > 0) times.Add((ms, inString));
                    if (rep > 0) slow.Add((ms, tok.Decode(tok.Encode(doc, addSpecial: false).TakeWhile(x => x != id))[^Math.Min(12, 0 + tok.Decode(tok.Encode(doc, addSpecial: false).TakeWhile(x => x != id)).Length)..]));
                    Array.Clear(logits);
                    c.Accept(id);
                    foreach (byte b in tok.TokenToBytes(id)) if (b == (byte)'"') inString = !inString;
                }
                Assert.True(c.IsComplete);
            }
            string Stats(IEnumerable<double> xs)
            {
                var a = xs.OrderBy(x => x).ToArray();
                return a.Length == 0 ? "-" : $"mean {a.Average():F3} ms, p50 {a[a.Length / 2]:F3} ms, p95 {a[(int)(a.Length * 0.95)]:F3} ms, max {a[^1]:F3} ms (n={a.Length})";
            }
            Console.WriteLine($"{name}: all tokens {Stats(times.Select(t => t.Ms))}");
            Console.WriteLine($"{name}: inside strings {Stats(times.Where(t => t.InString).Select(t => t.Ms))}");
            Console.WriteLine($"{name}: slowest after: " + string.Join(" | ", slow.OrderByDescending(x => x.Ms).Take(6).Select(x => $"{x.Ms:F1}ms '{x.After}'")));
            Console.WriteLine($"{name}: structural {Stats(times.Where(t => !t.InString).Select(t => t.Ms))}");
        }
    }
}
