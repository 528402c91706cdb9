using Whale.Engine;

namespace Whale.Server.Hosting;

/// <summary>A model the server offers: its API id, the loaded model (tokenizer, chat template) and its engine.
/// The server uses but does not dispose them.</summary>
/// <param name="Id">The name clients put in the request's <c>model</c> field and see in <c>GET /models</c>.</param>
/// <param name="Model">The loaded model.</param>
/// <param name="Engine">The engine that generates for it.</param>
public sealed record ServedModel(string Id, WhaleModel Model, IInferenceEngine Engine)
{
    /// <summary>Other names accepted in the <c>model</c> field (for example "deepseek-chat").</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>Unix time shown as <c>created</c> in the model list.</summary>
    public long Created { get; init; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
