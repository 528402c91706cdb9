using System.CommandLine;
using Whale.Engine;
using Whale.Tokenization;

namespace Whale.Cli.Commands;

/// <summary>
/// <c>whale run</c>: one prompt, the answer streamed to stdout; reasoning and diagnostics go to stderr.
/// With <c>--raw</c> the prompt is tokenized as is (BOS when the file asks) and the continuation printed.
/// </summary>
internal static class RunCommand
{
    public static Command Create(CliIo io)
    {
        var m = new ModelArgs();
        var prompt = new Option<string?>("--prompt", "-p") { Description = "the prompt (read from stdin when omitted)" };
        var raw = new Option<bool>("--raw") { Description = "no chat template: continue the prompt text" };
        var printIds = new Option<bool>("--print-ids") { Description = "print the generated token ids instead of text" };
        var mtp = new Option<bool>("--mtp") { Description = "speculative decoding with the file's MTP block (same output, different speed; prints the acceptance rate)" };
        var noMtp = new Option<bool>("--no-mtp") { Description = "plain decoding (the default)" };
        var cmd = new Command("run", "Generate an answer to one prompt");
        m.AddTo(cmd);
        cmd.Options.Add(prompt);
        cmd.Options.Add(raw);
        cmd.Options.Add(printIds);
        cmd.Options.Add(mtp);
        cmd.Options.Add(noMtp);
        cmd.SetAction(r =>
        {
            if (r.GetValue(mtp) && r.GetValue(noMtp)) throw new ArgumentException("--mtp and --no-mtp exclude each other");
            string text = r.GetValue(prompt) ?? io.In.ReadToEnd();
            using var model = m.Load(r, io);
            bool isRaw = r.GetValue(raw);
            int[] tokens;
            bool opensThinking = false;
            if (isRaw)
            {
                tokens = model.Tokenizer.Encode(text, addSpecial: true, parseSpecial: true);
                if (tokens.Length == 0) tokens = [model.Tokenizer.BosId];
            }
            else
            {
                var messages = new List<ChatMessage>();
                if (r.GetValue(m.System) is { } sys) messages.Add(new ChatMessage(ChatRole.System, sys));
                messages.Add(new ChatMessage(ChatRole.User, text));
                tokens = model.TokenizeChat(messages);
                opensThinking = model.ChatTemplate.GenerationPromptOpensThinking;
            }
            var options = new GenerationOptions
            {
                Sampling = m.Sampling(r),
                MaxTokens = r.GetValue(m.MaxTokens),
                PromptOpensThinking = opensThinking,
                ParseReasoning = !isRaw,
                Speculative = r.GetValue(mtp),
            };
            using var gen = model.CreateGenerator();
            if (r.GetValue(mtp) && !gen.Speculates(options))
                throw new ArgumentException($"--mtp: {Path.GetFileName(model.File.Path)} has no MTP block");
            bool ids = r.GetValue(printIds), first = true;
            var printer = new StreamPrinter(io);
            var sw = System.Diagnostics.Stopwatch.StartNew();
            int count = 0;
            string? finish = null;
            foreach (var ev in gen.Generate(tokens, options))
            {
                if (ev.IsFinal) { finish = ev.FinishReason; break; }
                if (ev.TokenId >= 0) count++;
                if (!ids) { printer.Write(ev); continue; }
                if (ev.TokenId < 0) continue;
                io.Out.Write(first ? $"{ev.TokenId}" : $" {ev.TokenId}");
                first = false;
            }
            printer.Finish();
            double secs = sw.Elapsed.TotalSeconds;
            var spec = gen.Speculation;
            string mtpText = gen.Speculates(options)
                ? $", MTP: {spec.Accepted}/{spec.Drafted} drafts accepted ({spec.AcceptanceRate:P0})"
                : "";
            io.Err.WriteLine($"[{tokens.Length} prompt tokens, {count} generated, {count / Math.Max(secs, 1e-9):F1} tok/s{mtpText}, finish: {finish}]");
            return 0;
        });
        return cmd;
    }
}
