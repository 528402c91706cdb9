namespace Whale.Server.Tests;

/// <summary>Tests that run alone, after the parallel ones: the browser tests (Chromium loads both cores) and the
/// conversation API tests (a server per case), so that the timing-sensitive server tests are not starved.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial";
}
