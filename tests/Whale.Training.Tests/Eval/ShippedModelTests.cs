using Whale.Engine;
using Whale.Sampling;
using Whale.Tokenization;
using Whale.Training.Data;
using Whale.Training.Eval;
using Xunit.Abstractions;

namespace Whale.Training.Tests.Eval;

/// <summary>
/// The committed default model, through the library API only: held-out questions (never trained on) get a reasoning
/// part and a correct boxed answer for a clear majority of a fixed sample of the arithmetic tasks.
/// </summary>
public class ShippedModelTests(ITestOutputHelper output)
{
    [Fact]
    public void AnswersHeldOutQuestionsWithReasoning()
    {
        string path = Path.Combine(TestModels.RepoRoot(), "models", "whale-r1-tiny.gguf");
        Assert.True(File.Exists(path), $"{path} is missing");
        using var model = WhaleModel.Load(path, new ModelOptions { Threads = 2 });
        Assert.True(model.ChatTemplate.GenerationPromptOpensThinking);
        var sample = TaskGenerator.HeldOutSample(8, seed: 777).Where(p => p.Kind != TaskKind.Countdown).ToList();
        int correct = 0, reasoned = 0;
        foreach (var p in sample)
        {
            using var gen = model.CreateGenerator();
            var prompt = model.TokenizeChat([new ChatMessage(ChatRole.User, p.Question)]);
            var options = new GenerationOptions { Sampling = SamplingParams.Greedy, MaxTokens = 200, PromptOpensThinking = true };
            string reasoning = "", content = "";
            foreach (var ev in gen.Generate(prompt, options)) { reasoning += ev.Reasoning; content += ev.Content; }
            bool ok = Rewards.Accuracy(p, reasoning + "\n</think>\n\n" + content) == 1f;
            if (reasoning.Trim().Length > 0) reasoned++;
            if (ok) correct++;
            output.WriteLine($"{p.Question} -> {content.Trim()} {(ok ? "ok" : "WRONG")}");
        }
        Assert.Equal(sample.Count, reasoned);
        Assert.True(correct * 3 > sample.Count * 2, $"{correct}/{sample.Count} correct");
    }
}
