using System.Globalization;

namespace Whale.Training.Stages;

/// <summary>Progress bars on the console (one line, redrawn) and plain lines in a log file.</summary>
public sealed class TrainingLog(TextWriter console, string? logPath) : IDisposable
{
    private readonly StreamWriter? _file = logPath is null ? null : new StreamWriter(logPath, append: true) { AutoFlush = true };

    public void Line(string text)
    {
        string s = $"[{DateTime.Now.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}] {text}";
        console.WriteLine(s);
        _file?.WriteLine(s);
    }

    public void Progress(string stage, int step, int total, TimeSpan elapsed, string detail)
    {
        int width = 24, filled = (int)((long)width * step / Math.Max(1, total));
        string bar = new string('#', filled) + new string('.', width - filled);
        double eta = step > 0 ? elapsed.TotalSeconds * (total - step) / step : 0;
        Line(string.Create(CultureInfo.InvariantCulture, $"{stage,-8} [{bar}] {step}/{total} {elapsed.TotalSeconds:F0}s eta {eta:F0}s  {detail}"));
    }

    public void Dispose() => _file?.Dispose();
}
