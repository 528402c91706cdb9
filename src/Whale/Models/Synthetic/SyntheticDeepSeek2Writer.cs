using Whale.Gguf;
using Whale.Kernels.Quant;
using Whale.Models.DeepSeek2;
using Whale.Tokenization;

namespace Whale.Models.Synthetic;

/// <summary>
/// Writes a synthetic <c>deepseek2</c> GGUF: seeded random weights with a real vocabulary, in either file generation
/// (current: attn_k_b/attn_v_b and the *_mla keys; legacy: attn_kv_b). Both generations hold the same kv_b values,
/// so a model written twice with the same seed is the same network. The files load in llama.cpp too.
/// Router weights, the selection bias, norms are F32 (as llama.cpp's converter and quantizer keep them); K-quant
/// tensors whose rows are not a multiple of 256 fall back as llama-quant does (Q4_K -> Q5_0, Q5_K -> Q5_1,
/// Q6_K -> Q8_0); the mixed option of <see cref="Write"/> gives a Q4_K_M-like mix (attn_output, ffn_down*,
/// output in Q6_K). With an MTP block, blk.{layers} is one more MoE block plus the nextn tensors (eh_proj, enorm, hnorm,
/// shared_head_norm; embedding and head shared), drawn after every other tensor so the main weights stay the same.
/// </summary>
public static class SyntheticDeepSeek2Writer
{
    /// <summary>Writes the model; returns the path.</summary>
    /// <param name="path">Output file.</param>
    /// <param name="shape">Dimensions (see <see cref="SyntheticDeepSeek2Shape.Presets"/>).</param>
    /// <param name="type">Type of the weight matrices.</param>
    /// <param name="vocab">Vocabulary (the deepseek-v3 tokenizer for V3-like models).</param>
    /// <param name="seed">Random seed.</param>
    /// <param name="layers">Overrides the shape's layer count.</param>
    /// <param name="legacyMla">Write the legacy layout (attn_kv_b, no *_mla keys).</param>
    /// <param name="mixed">Q4_K_M-like mix: attn_output, ffn_down* and output in Q6_K (then the fallbacks).</param>
    /// <param name="mtp">Add a multi-token-prediction block in llama.cpp's nextn layout (nextn_predict_layers 1).</param>
    public static string Write(string path, SyntheticDeepSeek2Shape shape, GgmlType type, VocabData vocab, ulong seed = 42,
        int? layers = null, bool legacyMla = false, bool mixed = false, bool mtp = false)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(vocab);
        if (layers is { } nl) shape = shape with { Layers = nl };
        var s = shape;
        int E = s.Embed, H = s.Heads, C = s.KvLoraRank, Dn = s.QkNope, Dr = s.QkRope, Dv = s.VHead, Dk = Dn + Dr;
        int V = vocab.Tokens.Length, X = s.Experts, Fe = s.ExpertFfn, Fs = Fe * s.SharedExperts;
        if (s.LeadingDense > s.Layers) throw new ArgumentException($"{s.LeadingDense} leading dense layers exceed {s.Layers} layers");
        var rng = new SyntheticRandom(seed);
        var w = new GgufWriter();
        const string a = "deepseek2.";
        w.SetString("general.architecture", "deepseek2");
        w.SetString("general.name", $"whale-synthetic-deepseek2-{(mixed ? type + "_M" : type.ToString())}{(legacyMla ? "-legacy" : "")}".ToLowerInvariant());
        w.SetUInt32("general.file_type", mixed ? 15u : FileType(type));
        w.SetUInt32("general.quantization_version", 2);
        w.SetUInt32(a + "block_count", (uint)(s.Layers + (mtp ? 1 : 0)));
        if (mtp) w.SetUInt32(a + "nextn_predict_layers", 1);
        w.SetUInt32(a + "context_length", (uint)s.Context);
        w.SetUInt32(a + "embedding_length", (uint)E);
        w.SetUInt32(a + "feed_forward_length", (uint)s.Ffn);
        w.SetUInt32(a + "attention.head_count", (uint)H);
        w.SetUInt32(a + "attention.head_count_kv", legacyMla ? (uint)H : 1u);
        w.SetUInt32(a + "attention.q_lora_rank", (uint)s.QLoraRank);
        w.SetUInt32(a + "attention.kv_lora_rank", (uint)C);
        if (legacyMla)
        {
            w.SetUInt32(a + "attention.key_length", (uint)Dk);
            w.SetUInt32(a + "attention.value_length", (uint)Dv);
        }
        else
        {
            w.SetUInt32(a + "attention.key_length", (uint)(C + Dr));
            w.SetUInt32(a + "attention.value_length", (uint)C);
            w.SetUInt32(a + "attention.key_length_mla", (uint)Dk);
            w.SetUInt32(a + "attention.value_length_mla", (uint)Dv);
        }
        w.SetFloat32(a + "attention.layer_norm_rms_epsilon", 1e-6f);
        w.SetUInt32(a + "rope.dimension_count", (uint)Dr);
        w.SetFloat32(a + "rope.freq_base", 10000f);
        if (s.YarnFactor > 0)
        {
            w.SetString(a + "rope.scaling.type", "yarn");
            w.SetFloat32(a + "rope.scaling.factor", s.YarnFactor);
            w.SetUInt32(a + "rope.scaling.original_context_length", (uint)s.YarnOrigContext);
            w.SetFloat32(a + "rope.scaling.yarn_log_multiplier", s.YarnLogMultiplier);
        }
        w.SetUInt32(a + "leading_dense_block_count", (uint)s.LeadingDense);
        w.SetUInt32(a + "expert_feed_forward_length", (uint)Fe);
        w.SetUInt32(a + "expert_count", (uint)X);
        w.SetUInt32(a + "expert_used_count", (uint)s.ExpertsUsed);
        w.SetUInt32(a + "expert_shared_count", (uint)s.SharedExperts);
        if (s.WeightsScale > 0) w.SetFloat32(a + "expert_weights_scale", s.WeightsScale);
        if (s.WeightsNorm) w.SetBool(a + "expert_weights_norm", true);
        w.SetUInt32(a + "expert_gating_func", (uint)s.Gating);
        if (s.ExpertGroups > 1)
        {
            w.SetUInt32(a + "expert_group_count", (uint)s.ExpertGroups);
            w.SetUInt32(a + "expert_group_used_count", (uint)s.ExpertGroupsUsed);
        }
        w.SetUInt32(a + "vocab_size", (uint)V);
        vocab.WriteTo(w);

        GgmlType TypeOf(string name, int cols) => TensorType(name, cols, type, mixed);
        void Matrix(string name, int cols, int rows, float std)
        {
            var t = TypeOf(name, cols);
            w.AddTensor(name, t, [cols, rows], Encode(t, Random(rng, rows, cols, std), cols, rows));
        }
        void Experts(string name, int cols, int rows, float std)
        {
            var t = TypeOf(name, cols);
            w.AddTensor(name, t, [cols, rows, X], Encode(t, Random(rng, X * rows, cols, std), cols, X * rows));
        }
        void Vector(string name, int n, float std, float mean) =>
            w.AddTensor(name, GgmlType.F32, [n], Encode(GgmlType.F32, Random(rng, 1, n, std, mean), n, 1));

        Matrix("token_embd.weight", E, V, 1.0f);
        Vector("output_norm.weight", E, 0.1f, 1.0f);
        Matrix("output.weight", E, V, 3.0f / MathF.Sqrt(E));
        for (int l = 0; l < s.Layers; l++) Block(l);
        if (mtp)
        {
            string n = $"blk.{s.Layers}.nextn.";
            Block(s.Layers);
            Matrix(n + "eh_proj.weight", 2 * E, E, 1.0f / MathF.Sqrt(2 * E));
            Vector(n + "enorm.weight", E, 0.1f, 1.0f);
            Vector(n + "hnorm.weight", E, 0.1f, 1.0f);
            Vector(n + "shared_head_norm.weight", E, 0.1f, 1.0f);
        }
        w.Write(path);
        return path;

        void Block(int l)
        {
            string p = $"blk.{l}.";
            Vector(p + "attn_norm.weight", E, 0.1f, 1.0f);
            if (s.QLoraRank > 0)
            {
                Matrix(p + "attn_q_a.weight", E, s.QLoraRank, 1.0f / MathF.Sqrt(E));
                Vector(p + "attn_q_a_norm.weight", s.QLoraRank, 0.1f, 1.0f);
                Matrix(p + "attn_q_b.weight", s.QLoraRank, H * Dk, 1.0f / MathF.Sqrt(s.QLoraRank));
            }
            else
            {
                Matrix(p + "attn_q.weight", E, H * Dk, 1.0f / MathF.Sqrt(E));
            }
            Matrix(p + "attn_kv_a_mqa.weight", E, C + Dr, 1.0f / MathF.Sqrt(E));
            Vector(p + "attn_kv_a_norm.weight", C, 0.1f, 1.0f);
            // kv_b [H*(Dn+Dv), C]: per head Dn K rows then Dv V rows (the HF kv_b_proj layout)
            var kvb = Random(rng, H * (Dn + Dv), C, 1.0f / MathF.Sqrt(C));
            if (legacyMla)
            {
                var t = TypeOf(p + "attn_kv_b.weight", C);
                w.AddTensor(p + "attn_kv_b.weight", t, [C, H * (Dn + Dv)], Encode(t, kvb, C, H * (Dn + Dv)));
            }
            else
            {
                // k_b {Dn, C, H}: k_b[h][c][d] = kv_b[h*(Dn+Dv) + d][c];  v_b {C, Dv, H}: the V rows as they are
                var kb = new float[H * C * Dn];
                var vb = new float[H * Dv * C];
                for (int h = 0; h < H; h++)
                {
                    for (int d = 0; d < Dn; d++)
                        for (int c = 0; c < C; c++)
                            kb[(h * C + c) * Dn + d] = kvb[(h * (Dn + Dv) + d) * C + c];
                    Array.Copy(kvb, (h * (Dn + Dv) + Dn) * C, vb, h * Dv * C, Dv * C);
                }
                var tk = TypeOf(p + "attn_k_b.weight", Dn);
                var tv = TypeOf(p + "attn_v_b.weight", C);
                w.AddTensor(p + "attn_k_b.weight", tk, [Dn, C, H], Encode(tk, kb, Dn, H * C));
                w.AddTensor(p + "attn_v_b.weight", tv, [C, Dv, H], Encode(tv, vb, C, H * Dv));
            }
            Matrix(p + "attn_output.weight", H * Dv, E, 0.5f / MathF.Sqrt(H * Dv));
            Vector(p + "ffn_norm.weight", E, 0.1f, 1.0f);
            if (l < s.LeadingDense)
            {
                Matrix(p + "ffn_gate.weight", E, s.Ffn, 1.0f / MathF.Sqrt(E));
                Matrix(p + "ffn_up.weight", E, s.Ffn, 1.0f / MathF.Sqrt(E));
                Matrix(p + "ffn_down.weight", s.Ffn, E, 0.5f / MathF.Sqrt(s.Ffn));
                return;
            }
            // router: always F32
            w.AddTensor(p + "ffn_gate_inp.weight", GgmlType.F32, [E, X], Encode(GgmlType.F32, Random(rng, X, E, 1.0f / MathF.Sqrt(E)), E, X));
            if (s.SelectionBias) Vector(p + "exp_probs_b.bias", X, 0.05f, 0f);
            Experts(p + "ffn_gate_exps.weight", E, Fe, 1.0f / MathF.Sqrt(E));
            Experts(p + "ffn_up_exps.weight", E, Fe, 1.0f / MathF.Sqrt(E));
            Experts(p + "ffn_down_exps.weight", Fe, E, 0.5f / MathF.Sqrt(Fe));
            if (Fs > 0)
            {
                Matrix(p + "ffn_gate_shexp.weight", E, Fs, 1.0f / MathF.Sqrt(E));
                Matrix(p + "ffn_up_shexp.weight", E, Fs, 1.0f / MathF.Sqrt(E));
                Matrix(p + "ffn_down_shexp.weight", Fs, E, 0.5f / MathF.Sqrt(Fs));
            }
        }
    }

    /// <summary>
    /// The type a tensor gets: <paramref name="type"/> (Q6_K for attn_output/ffn_down*/output when mixed), K-quants
    /// falling back for rows that are not a multiple of 256 (as llama-quant does for attn_k_b), F16 if the row
    /// length does not fit the block size at all.
    /// </summary>
    public static GgmlType TensorType(string name, int cols, GgmlType type, bool mixed)
    {
        ArgumentNullException.ThrowIfNull(name);
        var t = type;
        if (mixed && (name == "output.weight" || name.Contains("attn_output", StringComparison.Ordinal) || name.Contains("ffn_down", StringComparison.Ordinal)))
            t = GgmlType.Q6_K;
        if (cols % GgmlTypeTraits.BlockSize(t) != 0)
        {
            t = t switch
            {
                GgmlType.Q4_K => GgmlType.Q5_0,
                GgmlType.Q5_K => GgmlType.Q5_1,
                GgmlType.Q6_K => GgmlType.Q8_0,
                _ => t,
            };
        }
        return cols % GgmlTypeTraits.BlockSize(t) == 0 ? t : GgmlType.F16;
    }

    private static float[] Random(SyntheticRandom rng, int rows, int cols, float std, float mean = 0)
    {
        var v = new float[(long)rows * cols];
        rng.Fill(v, std, mean);
        return v;
    }

    private static byte[] Encode(GgmlType type, float[] values, int cols, int rows)
    {
        long rowBytes = GgmlTypeTraits.RowBytes(type, cols);
        var data = new byte[rowBytes * rows];
        for (int r = 0; r < rows; r++)
            Quantizer.QuantizeRow(type, values.AsSpan(r * cols, cols), data.AsSpan((int)(r * rowBytes), (int)rowBytes));
        return data;
    }

    private static uint FileType(GgmlType t) => t switch
    {
        GgmlType.F32 => 0, GgmlType.F16 => 1, GgmlType.Q4_0 => 2, GgmlType.Q4_1 => 3, GgmlType.Q8_0 => 7,
        GgmlType.Q5_0 => 8, GgmlType.Q5_1 => 9, GgmlType.Q4_K => 15, GgmlType.Q5_K => 17, GgmlType.Q6_K => 18,
        GgmlType.BF16 => 32, _ => 0,
    };
}
