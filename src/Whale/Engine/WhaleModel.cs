using Whale.Gguf;
using Whale.Kernels;
using Whale.Models;
using Whale.Tokenization;

namespace Whale.Engine;

/// <summary>
/// A model loaded for in-process use: the GGUF file (memory-mapped), its tokenizer and chat template, and the
/// forward pass. Create a <see cref="Generator"/> per conversation to generate text.
/// </summary>
public sealed class WhaleModel : IDisposable
{
    private readonly GgufFile _file;
    private readonly WorkerPool _pool;
    private readonly ChatTemplate? _template;
    private readonly Exception? _templateError;

    private WhaleModel(GgufFile file, ModelOptions options, IProgress<double>? progress)
    {
        _file = file;
        Options = options;
        _pool = new WorkerPool(Math.Max(1, options.Threads));
        try
        {
            progress?.Report(0.1);
            Tokenizer = Tokenizer.FromGguf(file);
            progress?.Report(0.3);
            // paged in before the model repacks (and releases) tensors, so that released pages stay released
            TouchWeights(file, progress);
            Model = CreateModel(file, _pool, options.BatchSize, options.RepackWeights);
            string bos = Tokenizer.Decode([Tokenizer.BosId], renderSpecial: true);
            string eos = Tokenizer.Decode([Tokenizer.EosId], renderSpecial: true);
            try
            {
                _template = options.ChatTemplate is { } name
                    ? ChatTemplate.FromName(name, bos, eos)
                    : ChatTemplate.FromTemplateText(Tokenizer.Vocab.ChatTemplate, bos, eos);
            }
            catch (NotSupportedException e) when (options.ChatTemplate is null)
            {
                _templateError = e;
            }
            progress?.Report(1.0);
        }
        catch
        {
            _pool.Dispose();
            throw;
        }
    }

    /// <summary>Opens and loads a GGUF model; errors name the file and the problem.</summary>
    public static WhaleModel Load(string path, ModelOptions? options = null, IProgress<double>? progress = null)
    {
        var file = GgufFile.Open(path);
        try
        {
            return new WhaleModel(file, options ?? new ModelOptions(), progress);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public ModelOptions Options { get; }
    public Tokenizer Tokenizer { get; }
    public IModel Model { get; }
    public ModelConfig Config => Model.Config;
    public GgufFile File => _file;

    /// <summary>The chat template; throws <see cref="NotSupportedException"/> when the file's template is unknown and no override was given.</summary>
    public ChatTemplate ChatTemplate => _template ?? throw (_templateError ?? new NotSupportedException("no chat template"));

    /// <summary>Default context size for generators.</summary>
    public int ContextSize => Options.ContextSize ?? Math.Min(Config.ContextLength, 4096);

    /// <summary>A generator with its own KV cache.</summary>
    public Generator CreateGenerator(int? contextSize = null) => new(this, contextSize ?? ContextSize);

    /// <summary>Renders messages with the chat template and tokenizes them as llama.cpp does (no double BOS).</summary>
    public int[] TokenizeChat(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        string text = ChatTemplate.Render(messages, addGenerationPrompt);
        string bos = Tokenizer.Decode([Tokenizer.BosId], renderSpecial: true);
        bool addBos = Tokenizer.AddBos;
        if (addBos && bos.Length > 0 && text.StartsWith(bos, StringComparison.Ordinal)) text = text[bos.Length..];
        return Tokenizer.Encode(text, addSpecial: true, parseSpecial: true);
    }

    private static IModel CreateModel(GgufFile file, WorkerPool pool, int batch, bool repack)
    {
        string arch = file.Architecture ?? throw new GgufException($"{file.Path}: missing metadata key 'general.architecture'");
        return arch switch
        {
            "llama" or "qwen2" => new LlamaModel(file, pool, batch, repack),
            "deepseek2" => new Models.DeepSeek2.DeepSeek2Model(file, pool, batch, repack),
            _ => throw new NotSupportedException($"{file.Path}: unsupported architecture '{arch}' (supported: {string.Join(", ", ModelConfig.SupportedArchitectures)})"),
        };
    }

    /// <summary>Reads one byte per page of every tensor so a large model is paged in while progress is shown.</summary>
    private static unsafe void TouchWeights(GgufFile file, IProgress<double>? progress)
    {
        if (progress is null) return;
        long total = 0, done = 0;
        foreach (var t in file.Tensors) total += t.ByteSize;
        int sink = 0;
        foreach (var t in file.Tensors)
        {
            byte* p = file.GetTensorData(t);
            for (long o = 0; o < t.ByteSize; o += 4096) sink += p[o];
            done += t.ByteSize;
            progress.Report(0.3 + 0.5 * done / Math.Max(1, total));
        }
        GC.KeepAlive(sink);
    }

    public void Dispose()
    {
        Model.Dispose();
        _pool.Dispose();
        _file.Dispose();
    }
}
