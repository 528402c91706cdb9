using System.CommandLine;
using Whale.Engine;
using Whale.Tokenization;

namespace Whale.Cli.Commands;

/// <summary>
/// <c>whale chat</c>: interactive multi-turn chat on stdin/stdout. Earlier turns stay in the KV cache; reasoning is
/// shown on stderr and dropped from the history as the R1 template does. Commands: /reset, /exit.
/// </summary>
internal static class ChatCommand
{
    public static Command Create(CliIo io)
    {
        var m = new ModelArgs();
        var cmd = new Command("chat", "Chat with a model in the terminal");
        m.AddTo(cmd);
        cmd.SetAction(r =>
        {
            using var model = m.Load(r, io);
            using var gen = model.CreateGenerator();
            var history = new List<ChatMessage>();
            if (r.GetValue(m.System) is { } sys) history.Add(new ChatMessage(ChatRole.System, sys));
            int baseCount = history.Count;
            io.Err.WriteLine($"whale chat: {Path.GetFileName(m.ModelPath(r))} ({model.Config.Architecture}, template {model.ChatTemplate.Kind}). /reset clears, /exit quits.");
            while (true)
            {
                io.Err.Write("> ");
                string? line = io.In.ReadLine();
                if (line is null || line.Trim() == "/exit") break;
                if (line.Trim() == "/reset") { history.RemoveRange(baseCount, history.Count - baseCount); gen.Reset(); continue; }
                if (line.Trim().Length == 0) continue;
                history.Add(new ChatMessage(ChatRole.User, line));
                var tokens = model.TokenizeChat(history);
                if (tokens.Length >= gen.ContextSize - 1)
                {
                    io.Err.WriteLine($"error: the conversation ({tokens.Length} tokens) no longer fits the context ({gen.ContextSize}); /reset to start over");
                    history.RemoveAt(history.Count - 1);
                    continue;
                }
                var options = new GenerationOptions
                {
                    Sampling = m.Sampling(r),
                    MaxTokens = r.GetValue(m.MaxTokens),
                    PromptOpensThinking = model.ChatTemplate.GenerationPromptOpensThinking,
                };
                var answer = new System.Text.StringBuilder();
                var printer = new StreamPrinter(io);
                foreach (var ev in gen.Generate(tokens, options))
                {
                    if (ev.IsFinal) break;
                    answer.Append(printer.Write(ev));
                }
                printer.Finish();
                history.Add(new ChatMessage(ChatRole.Assistant, answer.ToString()));
            }
            return 0;
        });
        return cmd;
    }
}
