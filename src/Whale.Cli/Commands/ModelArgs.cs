using System.CommandLine;
using Whale.Engine;
using Whale.Sampling;

namespace Whale.Cli.Commands;

/// <summary>Options shared by the commands that load a model and generate.</summary>
internal sealed class ModelArgs
{
    public Option<string?> Model { get; } = new("--model", "-m") { Description = "GGUF model file (first shard of a split model)" };
    public Option<int?> Threads { get; } = new("--threads", "-t") { Description = "worker threads (default: all cores)" };
    public Option<int?> Ctx { get; } = new("--ctx", "-c") { Description = "context size in tokens (default: min(model, 4096))" };
    public Option<string?> ChatTemplate { get; } = new("--chat-template") { Description = "override the file's chat template: deepseek-r1, deepseek-r1-distill, deepseek3, deepseek2, chatml, llama3" };
    public Option<string?> System { get; } = new("--system") { Description = "system prompt" };
    public Option<float> Temperature { get; } = new("--temperature", "--temp") { Description = "sampling temperature; 0 = greedy", DefaultValueFactory = _ => 0.6f };
    public Option<float> TopP { get; } = new("--top-p") { Description = "nucleus sampling threshold (1 = off)", DefaultValueFactory = _ => 0.95f };
    public Option<int> TopK { get; } = new("--top-k") { Description = "keep the K most likely tokens (0 = off)", DefaultValueFactory = _ => 40 };
    public Option<float> MinP { get; } = new("--min-p") { Description = "drop tokens below min-p x the top probability (0 = off)", DefaultValueFactory = _ => 0.05f };
    public Option<float> RepeatPenalty { get; } = new("--repeat-penalty") { Description = "repetition penalty (1 = off)", DefaultValueFactory = _ => 1f };
    public Option<float> FrequencyPenalty { get; } = new("--frequency-penalty") { Description = "frequency penalty (0 = off)", DefaultValueFactory = _ => 0f };
    public Option<float> PresencePenalty { get; } = new("--presence-penalty") { Description = "presence penalty (0 = off)", DefaultValueFactory = _ => 0f };
    public Option<ulong?> Seed { get; } = new("--seed", "-s") { Description = "random seed (same seed, same output)" };
    public Option<int> MaxTokens { get; } = new("--max-tokens", "-n") { Description = "most tokens to generate", DefaultValueFactory = _ => 512 };

    public void AddTo(Command c)
    {
        foreach (var o in new Option[] { Model, Threads, Ctx, ChatTemplate, System, Temperature, TopP, TopK, MinP, RepeatPenalty, FrequencyPenalty, PresencePenalty, Seed, MaxTokens })
            c.Options.Add(o);
    }

    public string ModelPath(ParseResult r) => r.GetValue(Model) ?? DefaultModel.Path
        ?? throw new ArgumentException("no --model given and no default model found (models/*.gguf)");

    public WhaleModel Load(ParseResult r, CliIo io)
    {
        var options = new ModelOptions
        {
            Threads = r.GetValue(Threads) ?? Environment.ProcessorCount,
            ContextSize = r.GetValue(Ctx),
            ChatTemplate = r.GetValue(ChatTemplate),
        };
        string path = ModelPath(r);
        return LoadProgress.Run(io, path, p => WhaleModel.Load(path, options, p));
    }

    public SamplingParams Sampling(ParseResult r) => new()
    {
        Temperature = r.GetValue(Temperature),
        TopP = r.GetValue(TopP),
        TopK = r.GetValue(TopK),
        MinP = r.GetValue(MinP),
        RepeatPenalty = r.GetValue(RepeatPenalty),
        FrequencyPenalty = r.GetValue(FrequencyPenalty),
        PresencePenalty = r.GetValue(PresencePenalty),
        Seed = r.GetValue(Seed),
    };
}
