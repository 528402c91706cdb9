using System.Runtime.InteropServices;
using Whale.Gguf;
using Whale.Kernels.Quant;
using Whale.Tokenization;

namespace Whale.Models.Synthetic;

/// <summary>
/// Writes a synthetic GGUF model of architecture <c>llama</c> or <c>qwen2</c>: seeded random weights in one tensor
/// type, with a real vocabulary. Weights are scaled so logits are well separated (greedy decoding is stable), and
/// the files load in llama.cpp too. Norm vectors and biases stay F32 as llama.cpp's converter keeps them.
/// </summary>
public static class SyntheticModelWriter
{
    /// <summary>
    /// Writes the model; returns the path. <paramref name="mixed"/> with <paramref name="type"/> Q4_K gives
    /// llama.cpp's Q4_K_M mix (<see cref="Q4_K_MType"/>): output, and attn_v and ffn_down of the "more bits"
    /// layers, in Q6_K.
    /// </summary>
    public static string Write(string path, string architecture, SyntheticShape shape, GgmlType type, VocabData vocab, ulong seed = 42, int? layers = null,
        bool mixed = false)
    {
        if (mixed && type != GgmlType.Q4_K) throw new ArgumentException($"the _M mix exists for Q4_K only, not {type}");
        if (architecture is not ("llama" or "qwen2"))
            throw new ArgumentException($"synth writes llama or qwen2 models, not '{architecture}'");
        if (layers is { } nl) shape = shape with { Layers = nl };
        int E = shape.Embed, F = shape.Ffn, H = shape.Heads, Hkv = shape.KvHeads, D = shape.HeadDim, V = vocab.Tokens.Length;
        int bs = GgmlTypeTraits.BlockSize(type);
        if (E % bs != 0 || F % bs != 0)
            throw new ArgumentException($"{type} needs row lengths that are multiples of {bs}; shape has embed {E}, ffn {F}");
        var rng = new SyntheticRandom(seed);
        var w = new GgufWriter();
        string a = architecture + ".";
        w.SetString("general.architecture", architecture);
        w.SetString("general.name", $"whale-synthetic-{architecture}-{type}{(mixed ? "_M" : "")}".ToLowerInvariant());
        w.SetUInt32("general.file_type", mixed ? 15u : FileType(type));
        w.SetUInt32("general.quantization_version", 2);
        w.SetUInt32(a + "block_count", (uint)shape.Layers);
        w.SetUInt32(a + "context_length", (uint)shape.Context);
        w.SetUInt32(a + "embedding_length", (uint)E);
        w.SetUInt32(a + "feed_forward_length", (uint)F);
        w.SetUInt32(a + "attention.head_count", (uint)H);
        w.SetUInt32(a + "attention.head_count_kv", (uint)Hkv);
        w.SetFloat32(a + "attention.layer_norm_rms_epsilon", architecture == "qwen2" ? 1e-6f : 1e-5f);
        w.SetFloat32(a + "rope.freq_base", architecture == "qwen2" ? 10000f : 500000f);
        w.SetUInt32(a + "rope.dimension_count", (uint)D);
        if (architecture == "llama") w.SetUInt32(a + "vocab_size", (uint)V);
        vocab.WriteTo(w);

        void Matrix(string name, int cols, int rows, float std)
        {
            var t = mixed ? Q4_K_MType(name, shape.Layers) : type;
            w.AddTensor(name, t, [cols, rows], Encode(t, rng, cols, rows, std));
        }
        void Vector(string name, int n, float std, float mean) => w.AddTensor(name, GgmlType.F32, [n], Encode(GgmlType.F32, rng, n, 1, std, mean));

        Matrix("token_embd.weight", E, V, 1.0f);
        Vector("output_norm.weight", E, 0.1f, 1.0f);
        Matrix("output.weight", E, V, 3.0f / MathF.Sqrt(E));
        if (architecture == "llama")
            w.AddTensor("rope_freqs.weight", GgmlType.F32, [D / 2], MemoryMarshal.AsBytes(Llama3RopeFactors(D, 500000f).AsSpan()).ToArray());
        for (int l = 0; l < shape.Layers; l++)
        {
            string p = $"blk.{l}.";
            Vector(p + "attn_norm.weight", E, 0.1f, 1.0f);
            Matrix(p + "attn_q.weight", E, H * D, 1.0f / MathF.Sqrt(E));
            Matrix(p + "attn_k.weight", E, Hkv * D, 1.0f / MathF.Sqrt(E));
            Matrix(p + "attn_v.weight", E, Hkv * D, 1.0f / MathF.Sqrt(E));
            if (architecture == "qwen2")
            {
                Vector(p + "attn_q.bias", H * D, 0.2f, 0);
                Vector(p + "attn_k.bias", Hkv * D, 0.2f, 0);
                Vector(p + "attn_v.bias", Hkv * D, 0.2f, 0);
            }
            Matrix(p + "attn_output.weight", H * D, E, 0.5f / MathF.Sqrt(H * D));
            Vector(p + "ffn_norm.weight", E, 0.1f, 1.0f);
            Matrix(p + "ffn_gate.weight", E, F, 1.0f / MathF.Sqrt(E));
            Matrix(p + "ffn_up.weight", E, F, 1.0f / MathF.Sqrt(E));
            Matrix(p + "ffn_down.weight", F, E, 0.5f / MathF.Sqrt(F));
        }
        w.Write(path);
        return path;
    }

    /// <summary>
    /// The type llama.cpp's quantizer gives a 2-D tensor of a dense model in Q4_K_M (llama_tensor_get_type):
    /// output Q6_K; attn_v and ffn_down Q6_K in the first and last eighth of the layers and every third layer
    /// between (use_more_bits); everything else Q4_K.
    /// </summary>
    public static GgmlType Q4_K_MType(string name, int layers)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name == "output.weight") return GgmlType.Q6_K;
        if (!name.Contains("attn_v.", StringComparison.Ordinal) && !name.Contains("ffn_down.", StringComparison.Ordinal)) return GgmlType.Q4_K;
        int layer = int.Parse(name.AsSpan(4, name.IndexOf('.', 4) - 4), System.Globalization.CultureInfo.InvariantCulture);
        bool moreBits = layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
        return moreBits ? GgmlType.Q6_K : GgmlType.Q4_K;
    }

    /// <summary>Llama 3 rope scaling divisors (factor 8, low 1, high 4, original context 8192), as the converter computes them.</summary>
    public static float[] Llama3RopeFactors(int headDim, float ropeBase, float factor = 8, float low = 1, float high = 4, int origCtx = 8192)
    {
        var f = new float[headDim / 2];
        double lowWavelen = origCtx / low, highWavelen = origCtx / high;
        for (int k = 0; k < f.Length; k++)
        {
            double freq = 1.0 / Math.Pow(ropeBase, 2.0 * k / headDim);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highWavelen) f[k] = 1;
            else if (wavelen > lowWavelen) f[k] = factor;
            else
            {
                double s = (origCtx / wavelen - low) / (high - low);
                f[k] = (float)(1 / ((1 - s) / factor + s));
            }
        }
        return f;
    }

    private static byte[] Encode(GgmlType type, SyntheticRandom rng, int cols, int rows, float std, float mean = 0)
    {
        long rowBytes = GgmlTypeTraits.RowBytes(type, cols);
        var data = new byte[rowBytes * rows];
        var row = new float[cols];
        for (int r = 0; r < rows; r++)
        {
            rng.Fill(row, std, mean);
            Quantizer.QuantizeRow(type, row, data.AsSpan((int)(r * rowBytes), (int)rowBytes));
        }
        return data;
    }

    private static uint FileType(GgmlType t) => t switch
    {
        GgmlType.F32 => 0, GgmlType.F16 => 1, GgmlType.Q4_0 => 2, GgmlType.Q4_1 => 3, GgmlType.Q8_0 => 7,
        GgmlType.Q5_0 => 8, GgmlType.Q5_1 => 9, GgmlType.Q4_K => 15, GgmlType.Q5_K => 17, GgmlType.Q6_K => 18,
        GgmlType.BF16 => 32, _ => 0,
    };
}
