using System.Runtime.CompilerServices;

namespace Whale.Engine;

/// <summary>Convenience over <see cref="IInferenceEngine.Submit"/>.</summary>
public static class InferenceEngineExtensions
{
    /// <summary>Submits <paramref name="request"/> and streams its events; admission errors surface on the first
    /// iteration.</summary>
    public static async IAsyncEnumerable<EngineEvent> GenerateAsync(this IInferenceEngine engine, EngineRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var reader = engine.Submit(request, cancellationToken);
        await foreach (var ev in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            yield return ev;
    }
}
