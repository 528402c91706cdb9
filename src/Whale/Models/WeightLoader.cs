using Whale.Gguf;
using Whale.Kernels;
using Whale.Kernels.Quant;

namespace Whale.Models;

/// <summary>Looks up tensors by name with shape and type checks; matrices stay in the mapping, vectors are read to F32.</summary>
internal sealed unsafe class WeightLoader(GgufFile file)
{
    public GgufFile File { get; } = file;

    /// <summary>A matrix with ne = [cols, rows] (rows of <paramref name="cols"/> values).</summary>
    public WeightMatrix Matrix(string name, int cols, int rows) => TryMatrix(name, cols, rows) ?? throw Missing(name);

    public WeightMatrix? TryMatrix(string name, int cols, int rows)
    {
        if (!File.TryGetTensor(name, out var t)) return null;
        CheckShape(t, cols, rows);
        if (!GgmlTypeTraits.IsComputeSupported(t.Type))
            throw new NotSupportedException($"{File.Path}: tensor '{name}' has type {t.Type}, which Whale does not compute with (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)");
        return new WeightMatrix(t.Type, File.GetTensorData(t), cols, rows);
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
