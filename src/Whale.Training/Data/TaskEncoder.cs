using Whale.Tokenization;

namespace Whale.Training.Data;

/// <summary>
/// Turns problems into token ids with Whale's own tokenizer, exactly as inference will see them: the chat prompt
/// (BOS, &lt;｜User｜&gt;question&lt;｜Assistant｜&gt;&lt;think&gt;\n, special tokens parsed) then the completion and EOS.
/// </summary>
public sealed class TaskEncoder(Tokenizer tokenizer)
{
    public Tokenizer Tokenizer { get; } = tokenizer;

    /// <summary>Prompt ids of a question, as WhaleModel.TokenizeChat produces them.</summary>
    public int[] Prompt(string question) =>
        Tokenizer.Encode(R1ChatTemplate.User + question + R1ChatTemplate.Assistant + "<think>\n", addSpecial: true, parseSpecial: true);

    /// <summary>Completion ids (trace, &lt;/think&gt;, answer) followed by EOS.</summary>
    public int[] Completion(string completion) =>
        [.. Tokenizer.Encode(completion, addSpecial: false, parseSpecial: true), Tokenizer.EosId];

    /// <summary>SFT example: prompt then completion; only the completion is trained.</summary>
    public Encoded Chat(Problem p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var prompt = Prompt(p.Question);
        var completion = Completion(p.Completion);
        var trained = new bool[prompt.Length + completion.Length];
        Array.Fill(trained, true, prompt.Length, completion.Length);
        return new Encoded([.. prompt, .. completion], trained, prompt.Length);
    }

    /// <summary>Pretraining example: the same material as plain text (no chat markers), every id trained.</summary>
    public Encoded Plain(Problem p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var ids = Tokenizer.Encode(p.Question + "\n" + p.Trace + "\n" + p.Answer, addSpecial: true, parseSpecial: false);
        int[] all = [.. ids, Tokenizer.EosId];
        var trained = new bool[all.Length];
        Array.Fill(trained, true, 1, all.Length - 1);
        return new Encoded(all, trained, 1);
    }
}
