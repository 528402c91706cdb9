using System.CommandLine;
using Whale.Engine;
using Whale.Server;
using Whale.Server.Hosting;

namespace Whale.Cli.Commands;

/// <summary>
/// <c>whale serve</c>: an OpenAI- and DeepSeek-compatible HTTP server. Several <c>--model</c> options serve several
/// models (selected by the request's <c>model</c> field; <c>NAME=FILE</c> names one). Prints the URL once ready;
/// Ctrl+C / SIGTERM stop it gracefully.
/// </summary>
internal static class ServeCommand
{
    public static Command Create(CliIo io)
    {
        var models = new Option<string[]>("--model", "-m") { Description = "GGUF model file, or NAME=FILE; repeat to serve several (default: the model Whale ships)", AllowMultipleArgumentsPerToken = false };
        var host = new Option<string>("--host") { Description = "address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0 = any free port)", DefaultValueFactory = _ => 8080 };
        var apiKey = new Option<string[]>("--api-key") { Description = "accepted API key (Authorization: Bearer KEY); repeatable; also env WHALE_API_KEY" };
        var apiKeyFile = new Option<string?>("--api-key-file") { Description = "file with one accepted API key per line" };
        var ctx = new Option<int?>("--ctx", "-c") { Description = "context size per sequence in tokens (default: min(model, 4096))" };
        var parallel = new Option<int>("--parallel", "-np") { Description = "sequences served at once, each with its own KV cache", DefaultValueFactory = _ => 1 };
        var threads = new Option<int?>("--threads", "-t") { Description = "worker threads (default: all cores)" };
        var template = new Option<string?>("--chat-template") { Description = "override the chat template of every model (deepseek-r1, deepseek-r1-distill, deepseek3, chatml, llama3, ...)" };
        var maxWaiting = new Option<int>("--max-waiting") { Description = "requests that may wait for a free sequence; more get 429", DefaultValueFactory = _ => 64 };
        var db = new Option<string?>("--db") { Description = "SQLite file of the chat page's conversations (default: whale/conversations.db in the user's data folder; ':memory:' = not kept)" };
        var webRoot = new Option<string?>("--web-root") { Description = "folder of the built chat page (default: wwwroot beside whale, else web/dist of the checkout)" };
        var engineKind = new Option<string>("--engine") { Description = "continuous (batched steps over a paged, prefix-shared KV cache) or serial (one KV cache per sequence, round-robin)", DefaultValueFactory = _ => "continuous" };
        var maxSeqs = new Option<int>("--max-seqs") { Description = "continuous engine: sequences batched at once", DefaultValueFactory = _ => 16 };
        var kvTokens = new Option<int?>("--kv-tokens") { Description = "continuous engine: tokens the shared KV cache holds (default max(2 x ctx, 8192))" };
        var batchTokens = new Option<int>("--batch-tokens") { Description = "continuous engine: most tokens per batched step (prefill chunks + decode)", DefaultValueFactory = _ => 256 };
        var noPrefixCache = new Option<bool>("--no-prefix-cache") { Description = "continuous engine: no prefix caching (every prompt is prefilled in full; no KV blocks shared by prefix)" };
        var cmd = new Command("serve", "Serve models over an OpenAI- and DeepSeek-compatible HTTP API, with the chat page at /");
        foreach (var o in new Option[] { models, host, port, apiKey, apiKeyFile, ctx, parallel, threads, template, maxWaiting, engineKind, maxSeqs, kvTokens, batchTokens, noPrefixCache, db, webRoot }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var specs = r.GetValue(models) is { Length: > 0 } given ? given
                : [DefaultModel.Path ?? throw new ArgumentException("no --model given and no default model found (models/*.gguf beside whale, or WHALE_MODEL)")];
            var keys = ApiKeys(r.GetValue(apiKey), r.GetValue(apiKeyFile));
            int np = r.GetValue(parallel);
            if (np < 1) throw new ArgumentException("--parallel must be at least 1");
            string kind = r.GetValue(engineKind) ?? "continuous";
            if (kind is not ("continuous" or "serial")) throw new ArgumentException("--engine must be continuous or serial");
            if (r.GetValue(maxSeqs) < 1) throw new ArgumentException("--max-seqs must be at least 1");
            var modelOptions = new ModelOptions
            {
                Threads = r.GetValue(threads) ?? Environment.ProcessorCount,
                ContextSize = r.GetValue(ctx),
                ChatTemplate = r.GetValue(template),
            };
            var served = new List<ServedModel>();
            try
            {
                foreach (var spec in specs)
                {
                    var (name, path) = Split(spec);
                    var model = LoadProgress.Run(io, path, p => WhaleModel.Load(path, modelOptions, p));
                    IInferenceEngine engine = kind == "continuous" && ContinuousEngine.Supports(model)
                        ? new ContinuousEngine(model, new ContinuousEngineOptions
                        {
                            MaxSequences = r.GetValue(maxSeqs),
                            MaxWaiting = r.GetValue(maxWaiting),
                            KvCacheTokens = r.GetValue(kvTokens),
                            MaxBatchTokens = r.GetValue(batchTokens),
                            PrefixCaching = !r.GetValue(noPrefixCache),
                        })
                        : new SerialEngine(model, new SerialEngineOptions { Parallel = np, MaxWaiting = r.GetValue(maxWaiting) });
                    served.Add(new ServedModel(name, model, engine));
                }
                string? dbPath = DatabasePath(r.GetValue(db), Split(specs[0]).Path);
                var server = WhaleServer.Create(new WhaleServerOptions
                {
                    Host = r.GetValue(host)!, Port = r.GetValue(port), ApiKeys = keys, DatabasePath = dbPath, WebRoot = r.GetValue(webRoot),
                }, served);
                try
                {
                    server.StartAsync().GetAwaiter().GetResult();
                    string url = server.Urls.Count > 0 ? server.Urls[0] : $"http://{r.GetValue(host)}:{r.GetValue(port)}";
                    io.Err.WriteLine($"serving {string.Join(", ", served.Select(s => s.Id))}{(keys.Count > 0 ? $" ({keys.Count} API key(s) required)" : "")}; OpenAI base URL {url}/v1; Ctrl+C stops");
                    io.Err.WriteLine($"chat page: {url}/ (conversations in {dbPath ?? "memory, not kept"})");
                    io.Out.WriteLine(url);
                    io.Out.Flush();
                    server.WaitForShutdownAsync().GetAwaiter().GetResult();
                }
                finally
                {
                    server.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            }
            finally
            {
                foreach (var s in served)
                {
                    s.Engine.DisposeAsync().AsTask().GetAwaiter().GetResult();
                    s.Model.Dispose();
                }
            }
            io.Err.WriteLine("stopped");
            return 0;
        });
        return cmd;
    }

    /// <summary>--db PATH, ':memory:' (null: in memory), or the default: whale/conversations.db in the user's data
    /// folder (~/.local/share on Linux), else beside the first model.</summary>
    private static string? DatabasePath(string? given, string firstModel)
    {
        if (given == ":memory:") return null;
        if (!string.IsNullOrEmpty(given)) return given;
        string data = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        if (!string.IsNullOrEmpty(data)) return Path.Combine(data, "whale", "conversations.db");
        return Path.ChangeExtension(firstModel, ".conversations.db");
    }

    private static (string Name, string Path) Split(string spec)
    {
        int eq = spec.IndexOf('=', StringComparison.Ordinal);
        if (eq > 0 && !File.Exists(spec)) return (spec[..eq], spec[(eq + 1)..]);
        string name = Path.GetFileName(spec);
        if (name.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) name = name[..^5];
        return (name, spec);
    }

    private static List<string> ApiKeys(string[]? given, string? file)
    {
        var keys = new List<string>(given ?? []);
        if (file is not null)
        {
            if (!File.Exists(file)) throw new ArgumentException($"--api-key-file {file}: no such file");
            keys.AddRange(File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')));
        }
        if (keys.Count == 0 && Environment.GetEnvironmentVariable("WHALE_API_KEY") is { Length: > 0 } env) keys.Add(env);
        return keys;
    }
}
