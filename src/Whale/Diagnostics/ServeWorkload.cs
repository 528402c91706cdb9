namespace Whale.Diagnostics;

/// <summary>What <see cref="ServeBenchmark"/> sends: how many requests, how they arrive, what their prompts share.</summary>
public sealed record ServeWorkload
{
    /// <summary>Most requests in flight at once (closed loop: always this many; Poisson: a cap on arrivals in flight).</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>Requests in all (turns of every conversation counted).</summary>
    public int Requests { get; init; } = 4;

    /// <summary>Prompt tokens of a conversation's first request.</summary>
    public int PromptTokens { get; init; } = 128;

    /// <summary>Leading prompt tokens that every conversation shares (a system prompt).</summary>
    public int SharedPrefixTokens { get; init; }

    /// <summary>Tokens generated per request (end of generation is banned, so exactly this many).</summary>
    public int GenerateTokens { get; init; } = 32;

    /// <summary>Conversations started per second, as a Poisson process; 0 = closed loop (a new one as soon as one ends).</summary>
    public double RequestRate { get; init; }

    /// <summary>Requests per conversation: turn k's prompt is turn k-1's prompt, its answer and <see cref="TurnTokens"/> new tokens.</summary>
    public int Turns { get; init; } = 1;

    /// <summary>New user tokens per follow-up turn.</summary>
    public int TurnTokens { get; init; } = 32;

    /// <summary>Seed of the random prompts and arrival times.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Conversations the requests form.</summary>
    public int Conversations => (Requests + Turns - 1) / Turns;

    /// <summary>Tokens the longest request needs in its sequence (prompt of the last turn + generated).</summary>
    public int LongestSequence => PromptTokens + (Turns - 1) * (GenerateTokens + TurnTokens) + GenerateTokens;

    internal void Validate()
    {
        if (Concurrency < 1 || Requests < 1) throw new ArgumentException("concurrency and requests must be at least 1");
        if (PromptTokens < 1 || SharedPrefixTokens < 0 || SharedPrefixTokens > PromptTokens)
            throw new ArgumentException("need 0 <= shared prefix <= prompt tokens, prompt >= 1");
        if (GenerateTokens < 1) throw new ArgumentException("generate at least one token");
        if (Turns < 1 || TurnTokens < 1) throw new ArgumentException("turns and turn tokens must be at least 1");
        if (RequestRate < 0 || double.IsNaN(RequestRate)) throw new ArgumentException("request rate must be >= 0");
    }
}
