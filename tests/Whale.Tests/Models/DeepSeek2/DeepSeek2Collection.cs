namespace Whale.Tests.Models.DeepSeek2;

/// <summary>Tests sharing the synthetic deepseek2 files (run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class DeepSeek2Collection : ICollectionFixture<DeepSeek2Fixture>
{
    public const string Name = "DeepSeek2 models";
}
