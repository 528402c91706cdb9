using System.Runtime.InteropServices;
using TorchSharp;
using Whale.Gguf;
using Whale.Tokenization;
using Whale.Training.Model;
using static TorchSharp.torch;

namespace Whale.Training.Export;

/// <summary>
/// Writes the distillation student as a plain <c>qwen2</c> GGUF, the layout of R1-Distill-Qwen files: the qwen2.*
/// hyper-parameters, the teacher's tokenizer and chat template, F32 tensors token_embd, output_norm, output (omitted
/// when tied: both engines then use token_embd), and per block attn_norm, attn_q/k/v with biases, attn_output,
/// ffn_norm, ffn_gate/up/down. A torch [out, in] matrix is GGUF ne {in, out}: the bytes are the same.
/// </summary>
public static class Qwen2GgufExporter
{
    /// <summary>Writes the file; returns the tensor names in file order.</summary>
    public static IReadOnlyList<string> Export(Qwen2Model model, VocabData vocab, string path, string name = "whale-r1-tiny-distill-qwen2")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocab);
        var c = model.Config;
        if (vocab.Count != c.VocabSize) throw new ArgumentException($"the vocabulary has {vocab.Count} tokens, the model {c.VocabSize}");
        var w = new GgufWriter();
        const string a = "qwen2.";
        w.SetString("general.architecture", "qwen2");
        w.SetString("general.name", name);
        w.SetUInt32("general.file_type", 0);
        w.SetUInt32(a + "block_count", (uint)c.Layers);
        w.SetUInt32(a + "context_length", (uint)c.Context);
        w.SetUInt32(a + "embedding_length", (uint)c.Embed);
        w.SetUInt32(a + "feed_forward_length", (uint)c.Ffn);
        w.SetUInt32(a + "attention.head_count", (uint)c.Heads);
        w.SetUInt32(a + "attention.head_count_kv", (uint)c.KvHeads);
        w.SetFloat32(a + "attention.layer_norm_rms_epsilon", c.RmsEps);
        w.SetFloat32(a + "rope.freq_base", c.RopeBase);
        vocab.WriteTo(w);

        var names = new List<string>();
        void Add(string n, Tensor t, params long[] ne)
        {
            using var f = t.detach().contiguous().to_type(ScalarType.Float32);
            var data = f.data<float>().ToArray();
            long count = ne.Aggregate(1L, (x, y) => x * y);
            if (count != data.Length) throw new InvalidOperationException($"{n}: {data.Length} values for shape [{string.Join(", ", ne)}]");
            w.AddTensor(n, GgmlType.F32, ne, MemoryMarshal.AsBytes(data.AsSpan()).ToArray());
            names.Add(n);
        }
        int E = c.Embed, V = c.VocabSize, qDim = c.Heads * c.HeadDim, kvDim = c.KvHeads * c.HeadDim;
        Add("token_embd.weight", model.token_embd, E, V);
        Add("output_norm.weight", model.output_norm.weight, E);
        if (model.output is { } head) Add("output.weight", head, E, V);
        for (int l = 0; l < c.Layers; l++)
        {
            string p = $"blk.{l}.";
            var b = model.blocks[l];
            Add(p + "attn_norm.weight", b.attn_norm.weight, E);
            Add(p + "attn_q.weight", b.attn.q, E, qDim);
            Add(p + "attn_q.bias", b.attn.q_bias, qDim);
            Add(p + "attn_k.weight", b.attn.k, E, kvDim);
            Add(p + "attn_k.bias", b.attn.k_bias, kvDim);
            Add(p + "attn_v.weight", b.attn.v, E, kvDim);
            Add(p + "attn_v.bias", b.attn.v_bias, kvDim);
            Add(p + "attn_output.weight", b.attn.o, qDim, E);
            Add(p + "ffn_norm.weight", b.ffn_norm.weight, E);
            Add(p + "ffn_gate.weight", b.ffn.gate, E, c.Ffn);
            Add(p + "ffn_up.weight", b.ffn.up, E, c.Ffn);
            Add(p + "ffn_down.weight", b.ffn.down, c.Ffn, E);
        }
        w.Write(path);
        return names;
    }
}
