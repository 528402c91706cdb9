using Whale.Gguf;
using Whale.Kernels;

namespace Whale.Models.DeepSeek2;

/// <summary>
/// Builds <see cref="DeepSeek2Layer"/>s over a deepseek2 file: 2-D weights through <see cref="WeightLoader"/>, 3-D
/// tensors (ne = {cols, rows, n}) as one <see cref="WeightMatrix"/> per slice at offset slice x rows x RowBytes.
/// Legacy files' attn_kv_b is split at load into per-head k_b (transposed, F32 copy) and v_b (views of its rows).
/// </summary>
internal sealed unsafe class DeepSeek2WeightLoader(GgufFile file, DeepSeek2Config config)
{
    private readonly WeightLoader _w = new(file);
    private readonly List<byte[]> _owned = [];

    /// <summary>Pinned buffers holding weights built at load (legacy k_b); keep them alive with the model.</summary>
    public IReadOnlyList<byte[]> OwnedBuffers => _owned;

    public WeightLoader Loader => _w;

    public DeepSeek2Layer Layer(int il)
    {
        var c = config;
        int E = c.EmbedDim, H = c.NumHeads, Dk = c.QkHeadDim, C = c.KvLoraRank, Dr = c.QkRopeDim, Dv = c.VHeadDim;
        string p = $"blk.{il}.";
        var wq = _w.TryMatrix(p + "attn_q.weight", E, H * Dk);
        WeightMatrix? wqa = null, wqb = null;
        float[]? qaNorm = null;
        if (wq is null)
        {
            if (c.QLoraRank <= 0)
                throw new GgufException($"{file.Path}: layer {il} has no 'attn_q.weight' and q_lora_rank is 0");
            wqa = _w.Matrix(p + "attn_q_a.weight", E, c.QLoraRank);
            qaNorm = _w.Vector(p + "attn_q_a_norm.weight", c.QLoraRank);
            wqb = _w.Matrix(p + "attn_q_b.weight", c.QLoraRank, H * Dk);
        }
        WeightMatrix[] kb, vb;
        if (c.SplitKvB)
        {
            kb = Slices(p + "attn_k_b.weight", c.QkNopeDim, C, H);
            vb = Slices(p + "attn_v_b.weight", C, Dv, H);
        }
        else
        {
            (kb, vb) = SplitKvB(p + "attn_kv_b.weight");
        }
        bool moe = il >= c.LeadingDenseLayers;
        var layer = new DeepSeek2Layer
        {
            AttnNorm = _w.Vector(p + "attn_norm.weight", E),
            Wq = wq, WqA = wqa, QaNorm = qaNorm, WqB = wqb,
            WkvA = _w.Matrix(p + "attn_kv_a_mqa.weight", E, C + Dr),
            KvaNorm = _w.Vector(p + "attn_kv_a_norm.weight", C),
            Kb = kb, Vb = vb,
            Wo = _w.Matrix(p + "attn_output.weight", H * Dv, E),
            FfnNorm = _w.Vector(p + "ffn_norm.weight", E),
            Gate = moe ? null : _w.Matrix(p + "ffn_gate.weight", E, c.FfnDim),
            Up = moe ? null : _w.Matrix(p + "ffn_up.weight", E, c.FfnDim),
            Down = moe ? null : _w.Matrix(p + "ffn_down.weight", c.FfnDim, E),
        };
        if (!moe) return layer;

        int X = c.ExpertCount, Fe = c.ExpertFfnDim, Fs = Fe * c.SharedExpertCount;
        WeightMatrix[] gateExps, upExps;
        if (file.TryGetTensor(p + "ffn_gate_up_exps.weight", out _))
        {
            // fused {E, 2*Fe, X}: rows 0..Fe-1 gate, Fe..2Fe-1 up of each expert
            var fused = Slices(p + "ffn_gate_up_exps.weight", E, 2 * Fe, X);
            gateExps = new WeightMatrix[X]; upExps = new WeightMatrix[X];
            for (int e = 0; e < X; e++)
            {
                var f = fused[e];
                gateExps[e] = new WeightMatrix(f.Type, f.Data, E, Fe);
                upExps[e] = new WeightMatrix(f.Type, f.Data + Fe * f.RowBytes, E, Fe);
            }
        }
        else
        {
            gateExps = Slices(p + "ffn_gate_exps.weight", E, Fe, X);
            upExps = Slices(p + "ffn_up_exps.weight", E, Fe, X);
        }
        return new DeepSeek2Layer
        {
            AttnNorm = layer.AttnNorm, Wq = wq, WqA = wqa, QaNorm = qaNorm, WqB = wqb,
            WkvA = layer.WkvA, KvaNorm = layer.KvaNorm, Kb = kb, Vb = vb, Wo = layer.Wo, FfnNorm = layer.FfnNorm,
            GateInp = _w.Matrix(p + "ffn_gate_inp.weight", E, X),
            ExpProbsBias = _w.TryVector(p + "exp_probs_b.bias", X),
            GateExps = gateExps,
            UpExps = upExps,
            DownExps = Slices(p + "ffn_down_exps.weight", Fe, E, X),
            GateShexp = Fs > 0 ? _w.Matrix(p + "ffn_gate_shexp.weight", E, Fs) : null,
            UpShexp = Fs > 0 ? _w.Matrix(p + "ffn_up_shexp.weight", E, Fs) : null,
            DownShexp = Fs > 0 ? _w.Matrix(p + "ffn_down_shexp.weight", Fs, E) : null,
        };
    }

    /// <summary>n matrices of rows x cols from a 3-D tensor with ne = {cols, rows, n}.</summary>
    private WeightMatrix[] Slices(string name, int cols, int rows, int n)
    {
        var t = file.GetTensor(name);
        if (t.Dim(0) != cols || t.Dim(1) != rows || t.Dim(2) != n || t.Dim(3) != 1)
            throw new GgufException($"{file.Path}: tensor '{name}' has shape [{string.Join(", ", t.Shape)}], expected [{cols}, {rows}, {n}]");
        if (!GgmlTypeTraits.IsComputeSupported(t.Type))
            throw new NotSupportedException($"{file.Path}: tensor '{name}' has type {t.Type}, which Whale does not compute with");
        byte* data = file.GetTensorData(t);
        long rowBytes = GgmlTypeTraits.RowBytes(t.Type, cols);
        var result = new WeightMatrix[n];
        for (int i = 0; i < n; i++) result[i] = new WeightMatrix(t.Type, data + (long)i * rows * rowBytes, cols, rows);
        return result;
    }

    /// <summary>
    /// Legacy attn_kv_b {C, H*(Dn+Dv)}: per head the first Dn rows are the K part, the next Dv rows the V part.
    /// k_b[h] = transpose of the K rows ([C, Dn], F32 copy of the dequantized values); v_b[h] = the V rows in place.
    /// </summary>
    private (WeightMatrix[] Kb, WeightMatrix[] Vb) SplitKvB(string name)
    {
        var c = config;
        int H = c.NumHeads, C = c.KvLoraRank, Dn = c.QkNopeDim, Dv = c.VHeadDim;
        var kvb = _w.Matrix(name, C, H * (Dn + Dv));
        var kb = new WeightMatrix[H];
        var vb = new WeightMatrix[H];
        var row = new float[C];
        for (int h = 0; h < H; h++)
        {
            var buf = GC.AllocateArray<byte>(C * Dn * sizeof(float), pinned: true);
            _owned.Add(buf);
            fixed (byte* pb = buf)
            {
                float* kt = (float*)pb;   // [C, Dn]
                for (int d = 0; d < Dn; d++)
                {
                    kvb.DequantizeRow(h * (Dn + Dv) + d, row);
                    for (int i = 0; i < C; i++) kt[i * Dn + d] = row[i];
                }
                kb[h] = new WeightMatrix(GgmlType.F32, pb, Dn, C);   // pinned: the address stays valid
            }
            vb[h] = new WeightMatrix(kvb.Type, kvb.Data + (long)(h * (Dn + Dv) + Dn) * kvb.RowBytes, C, Dv);
        }
        return (kb, vb);
    }
}
