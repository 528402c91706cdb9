using Whale.Engine;
using Whale.Gguf;
using Whale.Tests.LlamaCpp;
using Xunit.Abstractions;

namespace Whale.Tests.Models.DeepSeek2;

public class DeepSeek2ProbeTests(DeepSeek2Fixture fx, ITestOutputHelper output) : IClassFixture<DeepSeek2Fixture>
{
    public const string Prompt = "<｜User｜>Why is the sky blue? Explain like I am five, then give the physics: Rayleigh scattering, 1/λ⁴. " +
        "Then compare sunsets on Mars, where dust makes the sky butterscotch and sunsets blue, with sunsets on Earth. " +
        "Finally write a short poem about light, air, and the color of distance, and count the syllables of each line.<｜Assistant｜><think>\n";

    [Theory]
    [InlineData("v3-tiny", GgmlType.F32, false, false)]
    [InlineData("v3-tiny", GgmlType.F32, true, false)]
    [InlineData("v3-tiny", GgmlType.F16, false, false)]
    [InlineData("v3-tiny", GgmlType.F16, true, false)]
    [InlineData("v3-tiny", GgmlType.Q8_0, false, false)]
    [InlineData("v3-tiny", GgmlType.Q4_0, false, false)]
    [InlineData("v3-tiny", GgmlType.Q4_K, false, true)]
    [InlineData("v2-lite-tiny", GgmlType.F32, false, false)]
    [InlineData("v2-lite-tiny", GgmlType.F32, true, false)]
    [InlineData("v2-lite-tiny", GgmlType.F16, false, false)]
    [InlineData("v2-lite-tiny", GgmlType.Q8_0, true, false)]
    public void Probe(string preset, GgmlType type, bool legacy, bool mixed)
    {
        string path = fx.Get(preset, type, legacy, mixed);
        using var model = WhaleModel.Load(path, new ModelOptions { Threads = 2, BatchSize = 64 });
        var tokens = model.Tokenizer.Encode(Prompt, addSpecial: true, parseSpecial: true);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var gen = model.CreateGenerator(1024);
        var ours = gen.Evaluate(tokens);
        var tOurs = sw.Elapsed; sw.Restart();
        using var cpp = new LlamaCppReference(path, contextSize: 1024, batchSize: 64);
        var theirs = cpp.Evaluate(tokens);
        var tCpp = sw.Elapsed;
        double rel = Parity.MaxRelativeDiff(ours, theirs);
        output.WriteLine($"{preset} {type} legacy={legacy} mixed={mixed}: n={tokens.Length} rel={rel:E2} argmax {LlamaCppReference.ArgMax(ours)}/{LlamaCppReference.ArgMax(theirs)} ours {tOurs.TotalMilliseconds:F0} ms cpp {tCpp.TotalMilliseconds:F0} ms");
    }
}
