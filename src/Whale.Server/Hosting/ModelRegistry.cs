using Whale.Server.Errors;

namespace Whale.Server.Hosting;

/// <summary>Finds the served model a request names.</summary>
internal sealed class ModelRegistry(IReadOnlyList<ServedModel> models)
{
    public IReadOnlyList<ServedModel> Models { get; } = models;

    /// <summary>Draining: new generation requests get 503.</summary>
    public volatile bool Draining;

    public ServedModel? Find(string id)
    {
        foreach (var m in Models)
            if (string.Equals(m.Id, id, StringComparison.Ordinal) || m.Aliases.Contains(id, StringComparer.Ordinal)) return m;
        return null;
    }

    public ServedModel Resolve(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            if (Models.Count == 1) return Models[0];
            throw ApiException.BadRequest("'model' is required: one of " + string.Join(", ", Models.Select(m => m.Id)), "model");
        }
        return Find(id) ?? throw new ApiException(400,
            $"Model Not Exist: '{id}' is not served here; available: {string.Join(", ", Models.Select(m => m.Id))}", "model", "model_not_found");
    }
}
