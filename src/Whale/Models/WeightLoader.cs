using Whale.Gguf;
using Whale.Kernels;
using Whale.Kernels.Quant;

namespace Whale.Models;

/// <summary>
/// Looks up tensors by name with shape and type checks; matrices stay in the mapping (or, with
/// <paramref name="repack"/>, Q8_0, Q4_K, Q5_K and Q6_K matrices are copied into the repacked kernels' layout and their
/// mapped pages released), vectors are read to F32.
/// </summary>
internal sealed unsafe class WeightLoader(GgufFile file, bool repack = false)
{
    /// <summary>Environment variable that turns load-time repacking off when set to 0 (A/B runs).</summary>
    public const string RepackVariable = "WHALE_REPACK";

    /// <summary>Whether models repack their weights when not told otherwise: yes unless WHALE_REPACK=0.</summary>
    public static bool RepackByDefault => Environment.GetEnvironmentVariable(RepackVariable) != "0";

    private readonly List<WeightMatrix> _repacked = [];

    public GgufFile File { get; } = file;

    /// <summary>True when <see cref="Matrix"/> repacks the matrices it can (see <see cref="WeightMatrix.Repack"/>).</summary>
    public bool Repacks { get; } = repack;

    /// <summary>A matrix with ne = [cols, rows] (rows of <paramref name="cols"/> values), repacked if this loader repacks.</summary>
    public WeightMatrix Matrix(string name, int cols, int rows) => TryMatrix(name, cols, rows) ?? throw Missing(name);

    public WeightMatrix? TryMatrix(string name, int cols, int rows) => TryMatrix(name, cols, rows, Repacks);

    /// <summary>As <see cref="TryMatrix(string, int, int)"/>, repacking only when <paramref name="repackThis"/> (and the loader repacks).</summary>
    public WeightMatrix? TryMatrix(string name, int cols, int rows, bool repackThis)
    {
        if (!File.TryGetTensor(name, out var t)) return null;
        CheckShape(t, cols, rows);
        if (!GgmlTypeTraits.IsComputeSupported(t.Type))
            throw new NotSupportedException($"{File.Path}: tensor '{name}' has type {t.Type}, which Whale does not compute with (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)");
        var m = new WeightMatrix(t.Type, File.GetTensorData(t), cols, rows);
        if (repackThis) Repack(m);
        return m;
    }

    /// <summary>Repacks <paramref name="m"/> (see <see cref="RepackAndRelease"/>) if this loader repacks; remembered for <see cref="DisposeRepacked"/>.</summary>
    public void Repack(WeightMatrix m)
    {
        if (Repacks && !m.IsRepacked && RepackAndRelease(m)) _repacked.Add(m);
    }

    /// <summary>Frees the copies of every matrix this loader repacked (a model whose construction failed).</summary>
    public void DisposeRepacked()
    {
        foreach (var m in _repacked) m.Dispose();
        _repacked.Clear();
    }

    /// <summary>
    /// Repacks <paramref name="m"/> if it can be (<see cref="WeightMatrix.Repack"/>) and then releases the mapped pages
    /// lying wholly inside its rows, which the products no longer read (they stay valid: a later read maps them in
    /// again). Returns whether the matrix is repacked.
    /// </summary>
    public static bool RepackAndRelease(WeightMatrix m)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (m.IsRepacked) return true;
        if (!m.Repack()) return false;
        PageRelease.Release(m.Data, m.Rows * m.RowBytes);
        return true;
    }

    /// <summary>A 1-D tensor of <paramref name="length"/> values, converted to F32.</summary>
    public float[] Vector(string name, int length) => TryVector(name, length) ?? throw Missing(name);

    public float[]? TryVector(string name, int length)
    {
        if (!File.TryGetTensor(name, out var t)) return null;
        CheckShape(t, length, 1);
        if (t.Type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16))
            throw new NotSupportedException($"{File.Path}: tensor '{name}' has type {t.Type}; 1-D tensors must be F32, F16 or BF16");
        var v = new float[length];
        Quantizer.DequantizeRow(t.Type, File.GetTensorSpan(t), v);
        return v;
    }

    private void CheckShape(GgufTensorInfo t, long cols, long rows)
    {
        long tRows = t.ElementCount / Math.Max(1, t.Shape[0]);
        if (t.Shape[0] != cols || tRows != rows || (t.Shape.Length > 2 && t.Dim(2) != 1))
            throw new GgufException($"{File.Path}: tensor '{t.Name}' has shape [{string.Join(", ", t.Shape)}], expected [{cols}, {rows}]");
    }

    private GgufException Missing(string name) => new($"{File.Path}: missing tensor '{name}'");
}
