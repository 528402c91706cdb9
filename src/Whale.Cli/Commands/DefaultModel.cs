namespace Whale.Cli.Commands;

/// <summary>Finds the model Whale ships (models/*.gguf beside the app or in the repository), if any.</summary>
internal static class DefaultModel
{
    public static string? Path
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("WHALE_MODEL");
            if (!string.IsNullOrEmpty(env)) return env;
            for (var dir = AppContext.BaseDirectory; dir is not null; dir = System.IO.Path.GetDirectoryName(dir))
            {
                var models = System.IO.Path.Combine(dir, "models");
                if (Directory.Exists(models))
                {
                    var f = Directory.GetFiles(models, "*.gguf").Order(StringComparer.Ordinal).FirstOrDefault();
                    if (f is not null) return f;
                }
            }
            return null;
        }
    }
}
