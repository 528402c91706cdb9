namespace Whale.Training.Data;

/// <summary>One generated problem: the chat question, the reasoning trace, the final answer text, and what checks it.</summary>
/// <param name="Kind">Task family.</param>
/// <param name="Operands">The numbers of the problem (two for arithmetic, three for countdown).</param>
/// <param name="Target">The expected value: the result for arithmetic, the target for countdown.</param>
/// <param name="Question">The user message.</param>
/// <param name="Trace">The working steps (what goes inside &lt;think&gt;).</param>
/// <param name="Answer">The final answer text, containing exactly one \boxed{...}.</param>
public sealed record Problem(TaskKind Kind, int[] Operands, int Target, string Question, string Trace, string Answer)
{
    /// <summary>The assistant turn as trained: the trace, the end of thinking, a blank line, the answer.</summary>
    public string Completion => Trace + "\n</think>\n\n" + Answer;
}
