using Whale.Sampling;

namespace Whale.Tests.Sampling;

public class SamplerTests
{
    private static float[] LogProbs(params double[] probs) => probs.Select(p => (float)Math.Log(p)).ToArray();

    private static float[] RandomLogits(int n, ulong seed)
    {
        var rng = new Random((int)seed); // test data only
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 10 - 5)).ToArray();
    }

    /// <summary>Draws <paramref name="draws"/> tokens (fresh sampler per seed range) and counts them.</summary>
    private static int[] Histogram(SamplingParams p, float[] logits, int draws, ulong seed = 1234)
    {
        var sampler = new Sampler(p with { Seed = seed }, logits.Length);
        var hist = new int[logits.Length];
        for (int i = 0; i < draws; i++)
            hist[sampler.Sample(logits)]++;
        return hist;
    }

    private static int[] Support(int[] hist) => Enumerable.Range(0, hist.Length).Where(i => hist[i] > 0).ToArray();

    // ---- greedy ----

    public static TheoryData<float[], int> GreedyCases => new()
    {
        { new[] { 0.1f, 0.5f, 0.3f }, 1 },
        { new[] { -3f, -1f, -2f }, 1 },
        { new[] { 2f, 7f, 7f, 1f }, 1 },          // tie → lowest id
        { new[] { float.NaN, 1f, 3f }, 2 },      // NaN never wins
        { new[] { float.NegativeInfinity, float.NegativeInfinity, -1e30f }, 2 },
        { new[] { 5f }, 0 },
    };

    [Theory]
    [MemberData(nameof(GreedyCases))]
    public void GreedyPicksArgmax(float[] logits, int expected)
    {
        var sampler = new Sampler(SamplingParams.Greedy, logits.Length);
        Assert.True(sampler.IsGreedy);
        Assert.Equal(expected, sampler.Sample(logits));
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-1f)]
    public void GreedyDoesNotDependOnSeed(float temperature)
    {
        var logits = RandomLogits(1000, 7);
        int expected = Array.IndexOf(logits, logits.Max());
        for (ulong seed = 0; seed < 10; seed++)
        {
            var s = new Sampler(new SamplingParams { Temperature = temperature, Seed = seed, TopP = 0.5f, MinP = 0.1f }, logits.Length);
            Assert.Equal(expected, s.Sample(logits));
        }

        Assert.Equal(expected, new Sampler(SamplingParams.Greedy, logits.Length).Sample(logits));
    }

    [Fact]
    public void TopK1EqualsGreedy()
    {
        for (ulong seed = 0; seed < 20; seed++)
        {
            var logits = RandomLogits(500, seed + 100);
            int greedy = new Sampler(SamplingParams.Greedy, logits.Length).Sample(logits);
            var s = new Sampler(new SamplingParams { TopK = 1, Temperature = 1.5f, Seed = seed }, logits.Length);
            Assert.Equal(greedy, s.Sample(logits));
        }
    }

    // ---- filters: the support of many draws ----

    // Probabilities 0.5, 0.3, 0.15, 0.05 (cumulative 0.5, 0.8, 0.95, 1).
    private static readonly float[] FourTokens = LogProbs(0.5, 0.3, 0.15, 0.05);

    public static TheoryData<string, float, int[]> FilterCases => new()
    {
        { "top-k", 1, new[] { 0 } },
        { "top-k", 2, new[] { 0, 1 } },
        { "top-k", 3, new[] { 0, 1, 2 } },
        { "top-k", 0, new[] { 0, 1, 2, 3 } },
        { "top-k", 10, new[] { 0, 1, 2, 3 } },
        { "top-p", 0.4f, new[] { 0 } },
        { "top-p", 0.75f, new[] { 0, 1 } },
        { "top-p", 0.9f, new[] { 0, 1, 2 } },
        { "top-p", 0.99f, new[] { 0, 1, 2, 3 } },
        { "top-p", 1f, new[] { 0, 1, 2, 3 } },
        { "min-p", 0.9f, new[] { 0 } },     // threshold 0.45
        { "min-p", 0.5f, new[] { 0, 1 } },  // threshold 0.25
        { "min-p", 0.2f, new[] { 0, 1, 2 } }, // threshold 0.10
        { "min-p", 0.05f, new[] { 0, 1, 2, 3 } },
        { "min-p", 0f, new[] { 0, 1, 2, 3 } },
    };

    [Theory]
    [MemberData(nameof(FilterCases))]
    public void FilterKeepsExpectedSupport(string filter, float value, int[] expected)
    {
        var p = filter switch
        {
            "top-k" => new SamplingParams { TopK = (int)value },
            "top-p" => new SamplingParams { TopP = value },
            "min-p" => new SamplingParams { MinP = value },
            _ => throw new ArgumentException(filter),
        };

        // Several seeds, and a high temperature so that every kept token shows up.
        var seen = new SortedSet<int>();
        for (ulong seed = 1; seed <= 4; seed++)
            seen.UnionWith(Support(Histogram(p with { Temperature = 3f }, FourTokens, 2000, seed)));
        Assert.Equal(expected, seen.ToArray());
    }

    [Fact]
    public void FiltersComposeInLlamaCppOrder()
    {
        // top-k 3 keeps {0,1,2}; top-p 0.75 on those (renormalised: 0.526, 0.842, 1) keeps {0,1};
        // min-p 0.7 then drops 1 (0.3 < 0.7 * 0.5). Temperature comes last and does not change the support.
        var p = new SamplingParams { TopK = 3, TopP = 0.75f, Temperature = 5f };
        Assert.Equal([0, 1], Support(Histogram(p, FourTokens, 3000)));
        Assert.Equal([0], Support(Histogram(p with { MinP = 0.7f }, FourTokens, 3000)));
    }

    [Fact]
    public void TopKKeepsTheKBestOfALargeVocabulary()
    {
        var logits = RandomLogits(5000, 42);
        var best = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).Take(5).Order().ToArray();
        var hist = Histogram(new SamplingParams { TopK = 5, Temperature = 50f }, logits, 4000);
        Assert.Equal(best, Support(hist));
    }

    // ---- temperature and the distribution ----

    [Theory]
    [InlineData(1f, 0.7311)]  // softmax([1, 0])
    [InlineData(0.5f, 0.8808)] // softmax([2, 0])
    [InlineData(2f, 0.6225)]  // softmax([0.5, 0])
    [InlineData(10f, 0.5250)]
    public void TemperatureSharpensOrSpreads(float temperature, double expectedP0)
    {
        const int draws = 20000;
        var hist = Histogram(new SamplingParams { Temperature = temperature }, [1f, 0f], draws);
        Assert.InRange(hist[0] / (double)draws, expectedP0 - 0.02, expectedP0 + 0.02);
    }

    [Fact]
    public void FrequenciesFollowSoftmax()
    {
        const int draws = 40000;
        var hist = Histogram(new SamplingParams(), FourTokens, draws);
        double[] expected = [0.5, 0.3, 0.15, 0.05];
        for (int i = 0; i < expected.Length; i++)
            Assert.InRange(hist[i] / (double)draws, expected[i] - 0.015, expected[i] + 0.015);
    }

    // ---- determinism ----

    private static int[] Sequence(SamplingParams p, int count, float[] logits)
    {
        var s = new Sampler(p, logits.Length);
        var tokens = new int[count];
        for (int i = 0; i < count; i++)
        {
            tokens[i] = s.Sample(logits);
            s.Accept(tokens[i]);
        }

        return tokens;
    }

    [Fact]
    public void SameSeedSameSequenceDifferentSeedDifferent()
    {
        var logits = RandomLogits(200, 3);
        var p = new SamplingParams { Temperature = 2f, TopK = 50, TopP = 0.95f, RepeatPenalty = 1.1f, Seed = 99 };
        var a = Sequence(p, 100, logits);
        Assert.Equal(a, Sequence(p, 100, logits));
        Assert.NotEqual(a, Sequence(p with { Seed = 100 }, 100, logits));
    }

    [Fact]
    public void SeedIsRecordedAndRandomWhenUnset()
    {
        Assert.Equal(5UL, new Sampler(new SamplingParams { Seed = 5 }, 4).Seed);
        var s1 = new Sampler(new SamplingParams(), 4);
        var s2 = new Sampler(new SamplingParams(), 4);
        Assert.NotEqual(s1.Seed, s2.Seed);
        // The recorded seed reproduces the run.
        var logits = RandomLogits(100, 1);
        Assert.Equal(Sequence(new SamplingParams { Seed = s1.Seed }, 50, logits), Sequence(new SamplingParams { Seed = s1.Seed }, 50, logits));
    }

    [Fact]
    public void ResetRestartsTheSequenceAndForgetsHistory()
    {
        var logits = RandomLogits(300, 11);
        var p = new SamplingParams { Temperature = 1.5f, RepeatPenalty = 1.3f, PresencePenalty = 0.5f, Seed = 7 };
        var s = new Sampler(p, logits.Length);
        var first = new int[40];
        for (int i = 0; i < first.Length; i++)
            s.Accept(first[i] = s.Sample(logits));
        s.Reset();
        Assert.Equal(0, s.PenaltyWindowCount);
        for (int i = 0; i < first.Length; i++)
        {
            int t = s.Sample(logits);
            Assert.Equal(first[i], t);
            s.Accept(t);
        }
    }

    // ---- penalties ----

    public static TheoryData<float, float, float, int[], float[], float[]> PenaltyCases => new()
    {
        // repeat only: positive logits divided, non-positive multiplied; unseen tokens untouched
        { 2f, 0f, 0f, new[] { 0, 1, 0, 3 }, new[] { 2f, -2f, 1f, 0f }, new[] { 1f, -4f, 1f, 0f } },
        // frequency: count * f; presence: once
        { 1f, 0.5f, 0f, new[] { 0, 1, 0, 0 }, new[] { 2f, -2f, 1f, 0f }, new[] { 0.5f, -2.5f, 1f, 0f } },
        { 1f, 0f, 0.25f, new[] { 0, 1, 0, 0 }, new[] { 2f, -2f, 1f, 0f }, new[] { 1.75f, -2.25f, 1f, 0f } },
        // all three: repeat first, then subtract count*f + presence
        { 2f, 0.5f, 0.25f, new[] { 0, 1, 0, 3 }, new[] { 2f, -2f, 1f, 0.5f }, new[] { 1f - 1.25f, -4f - 0.75f, 1f, 0.25f - 0.75f } },
    };

    [Theory]
    [MemberData(nameof(PenaltyCases))]
    public void PenaltiesChangeLogitsAsSpecified(float repeat, float frequency, float presence, int[] history, float[] logits, float[] expected)
    {
        var s = new Sampler(new SamplingParams { RepeatPenalty = repeat, FrequencyPenalty = frequency, PresencePenalty = presence, Seed = 1 }, logits.Length);
        foreach (int t in history)
            s.Accept(t);
        var work = (float[])logits.Clone();
        s.ApplyPenalties(work);
        Assert.Equal(expected, work);
    }

    [Fact]
    public void PenaltyWindowForgetsOldTokens()
    {
        var s = new Sampler(new SamplingParams { RepeatPenalty = 2f, PenaltyLastN = 2, Seed = 1 }, 8);
        foreach (int t in new[] { 5, 6, 7 })
            s.Accept(t);
        var work = new float[] { 1, 1, 1, 1, 1, 1, 1, 1 };
        s.ApplyPenalties(work);
        Assert.Equal([1f, 1f, 1f, 1f, 1f, 1f, 0.5f, 0.5f], work);
        Assert.Equal(2, s.PenaltyWindowCount);
    }

    [Fact]
    public void PenaltyWindowCountsRepeatsAcrossWrapAround()
    {
        // window 3 over 1,2,1,1,3 → last three are 1,1,3
        var s = new Sampler(new SamplingParams { FrequencyPenalty = 1f, PenaltyLastN = 3, Seed = 1 }, 4);
        foreach (int t in new[] { 1, 2, 1, 1, 3 })
            s.Accept(t);
        var work = new float[4];
        s.ApplyPenalties(work);
        Assert.Equal([0f, -2f, 0f, -1f], work);
    }

    [Fact]
    public void WholeHistoryPenaltyKeepsEverything()
    {
        const int vocab = 1000;
        var s = new Sampler(new SamplingParams { FrequencyPenalty = 1f, PenaltyLastN = -1, Seed = 1 }, vocab);
        for (int i = 0; i < 700; i++)
            s.Accept(i % 350);
        var work = new float[vocab];
        s.ApplyPenalties(work);
        Assert.All(work.Take(350), v => Assert.Equal(-2f, v));
        Assert.All(work.Skip(350), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void DisabledPenaltiesDoNothing()
    {
        foreach (var p in new[] { new SamplingParams(), new SamplingParams { RepeatPenalty = 2f, PenaltyLastN = 0 } })
        {
            var s = new Sampler(p with { Seed = 1 }, 3);
            s.Accept(0);
            var work = new float[] { 1f, 2f, 3f };
            s.ApplyPenalties(work);
            Assert.Equal([1f, 2f, 3f], work);
        }
    }

    [Fact]
    public void RepeatPenaltyStepsGreedyAwayFromRepeats()
    {
        float[] logits = [3f, 2.5f, 0f];
        var s = new Sampler(SamplingParams.Greedy with { RepeatPenalty = 1.5f }, logits.Length);
        Assert.Equal(0, s.Sample(logits));
        s.Accept(0);
        Assert.Equal(1, s.Sample(logits)); // 3 / 1.5 = 2 < 2.5
    }

    // ---- logit bias ----

    [Fact]
    public void NegativeInfinityBiasBansAToken()
    {
        var bias = new Dictionary<int, float> { [0] = float.NegativeInfinity };
        Assert.Equal(1, new Sampler(SamplingParams.Greedy with { LogitBias = bias }, 4).Sample(FourTokens));
        var hist = Histogram(new SamplingParams { Temperature = 2f, LogitBias = bias }, FourTokens, 5000);
        Assert.Equal(0, hist[0]);
        Assert.Equal([1, 2, 3], Support(hist));
    }

    [Fact]
    public void PositiveBiasIsAdded()
    {
        var bias = new Dictionary<int, float> { [3] = 3f }; // log 0.05 + 3 > log 0.5
        Assert.Equal(3, new Sampler(SamplingParams.Greedy with { LogitBias = bias }, 4).Sample(FourTokens));
    }

    [Fact]
    public void AllTokensBannedThrows()
    {
        var bias = Enumerable.Range(0, 4).ToDictionary(i => i, _ => float.NegativeInfinity);
        var s = new Sampler(new SamplingParams { LogitBias = bias, Seed = 1 }, 4);
        Assert.Throws<InvalidOperationException>(() => s.Sample(FourTokens));
    }

    // ---- argument checks and allocation ----

    [Fact]
    public void RejectsBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new SamplingParams(), 0));
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplingParams { RepeatPenalty = 0f }, 4));
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplingParams { PenaltyLastN = -2 }, 4));
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplingParams { TopP = float.NaN }, 4));
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplingParams { LogitBias = new Dictionary<int, float> { [4] = 1f } }, 4));
        var s = new Sampler(new SamplingParams { Seed = 1 }, 4);
        Assert.Throws<ArgumentException>(() => s.Sample(new float[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Accept(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Accept(-1));
    }

    [Theory]
    [InlineData(40, 0.95f, 0.05f)]
    [InlineData(0, 0.9f, 0f)]
    [InlineData(0, 1f, 0.1f)]
    [InlineData(0, 1f, 0f)]
    public void SteadyStateSamplingDoesNotAllocate(int topK, float topP, float minP)
    {
        var logits = RandomLogits(32000, 5);
        var s = new Sampler(new SamplingParams
        {
            TopK = topK, TopP = topP, MinP = minP, Temperature = 0.8f, RepeatPenalty = 1.1f, FrequencyPenalty = 0.1f,
            PresencePenalty = 0.1f, PenaltyLastN = 64, Seed = 3, LogitBias = new Dictionary<int, float> { [7] = -1f },
        }, logits.Length);
        for (int i = 0; i < 80; i++)
            s.Accept(s.Sample(logits)); // fill the penalty window (its growth allocates)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
            s.Accept(s.Sample(logits));
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
