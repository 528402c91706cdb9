using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Whale.Engine;

namespace Whale.AI;

/// <summary>Registers Whale with a dependency-injection container.</summary>
public static class WhaleServiceCollectionExtensions
{
    /// <summary>
    /// Registers a model loaded from <paramref name="modelPath"/> (singleton <see cref="WhaleModel"/>), an
    /// <see cref="IInferenceEngine"/> over it, and a <see cref="WhaleChatClient"/> as <see cref="IChatClient"/>.
    /// The model loads on first use.
    /// </summary>
    public static IServiceCollection AddWhale(this IServiceCollection services, string modelPath, ModelOptions? modelOptions = null,
        SerialEngineOptions? engineOptions = null, string? modelId = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        services.AddSingleton(_ => WhaleModel.Load(modelPath, modelOptions));
        services.AddSingleton<IInferenceEngine>(sp => new SerialEngine(sp.GetRequiredService<WhaleModel>(), engineOptions));
        services.AddSingleton<IChatClient>(sp => new WhaleChatClient(sp.GetRequiredService<WhaleModel>(), sp.GetRequiredService<IInferenceEngine>(), modelId));
        return services;
    }
}
