using LLama.Native;

namespace Whale.Tests;

public class LlamaCppSmokeTests
{
    [Fact]
    public void LlamaCppLoadsStories()
    {
        var path = Path.Combine(TestPaths.Shared, "models", "stories260K", "stories260K.gguf");
        NativeApi.llama_empty_call();
        var p = LLamaModelParams.Default();
        using var model = SafeLlamaModelHandle.LoadFromFile(path, p);
        Assert.Equal(512, model.Vocab.Count);
    }
}
