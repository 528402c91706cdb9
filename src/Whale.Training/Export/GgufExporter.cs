using System.Runtime.InteropServices;
using TorchSharp;
using Whale.Gguf;
using Whale.Tokenization;
using Whale.Training.Model;
using static TorchSharp.torch;

namespace Whale.Training.Export;

/// <summary>
/// Writes the model as a current-layout deepseek2 GGUF (attn_k_b/attn_v_b and the *_mla keys, head_count_kv 1,
/// sigmoid gating = 2, exp_probs_b), F32 tensors, with the vocabulary and chat template. With MTP, block_count counts
/// the MTP block, nextn_predict_layers = 1, and blk.{L}.nextn.{eh_proj,enorm,hnorm,shared_head_norm} sit beside the
/// block's ordinary tensors (llama.cpp's nextn layout; embedding and head are shared, so those tensors are omitted).
/// A torch [out, in] matrix is GGUF ne {in, out}: the bytes are the same.
/// </summary>
public static class GgufExporter
{
    /// <summary>Writes the file; returns the tensor names in file order.</summary>
    public static IReadOnlyList<string> Export(DeepSeekV3Model model, VocabData vocab, string path, bool includeMtp = true, string name = "whale-r1-tiny")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocab);
        var c = model.Config;
        bool mtp = includeMtp && model.mtp is not null;
        var w = new GgufWriter();
        const string a = "deepseek2.";
        w.SetString("general.architecture", "deepseek2");
        w.SetString("general.name", name);
        w.SetUInt32("general.file_type", 0);
        w.SetUInt32(a + "block_count", (uint)(c.Layers + (mtp ? 1 : 0)));
        if (mtp) w.SetUInt32(a + "nextn_predict_layers", 1);
        w.SetUInt32(a + "context_length", (uint)c.Context);
        w.SetUInt32(a + "embedding_length", (uint)c.Embed);
        w.SetUInt32(a + "feed_forward_length", (uint)c.Ffn);
        w.SetUInt32(a + "attention.head_count", (uint)c.Heads);
        w.SetUInt32(a + "attention.head_count_kv", 1);
        w.SetUInt32(a + "attention.q_lora_rank", (uint)c.QLoraRank);
        w.SetUInt32(a + "attention.kv_lora_rank", (uint)c.KvLoraRank);
        w.SetUInt32(a + "attention.key_length", (uint)(c.KvLoraRank + c.QkRope));
        w.SetUInt32(a + "attention.value_length", (uint)c.KvLoraRank);
        w.SetUInt32(a + "attention.key_length_mla", (uint)c.QkHead);
        w.SetUInt32(a + "attention.value_length_mla", (uint)c.VHead);
        w.SetFloat32(a + "attention.layer_norm_rms_epsilon", c.RmsEps);
        w.SetUInt32(a + "rope.dimension_count", (uint)c.QkRope);
        w.SetFloat32(a + "rope.freq_base", c.RopeBase);
        w.SetUInt32(a + "leading_dense_block_count", (uint)c.LeadingDense);
        w.SetUInt32(a + "expert_feed_forward_length", (uint)c.ExpertFfn);
        w.SetUInt32(a + "expert_count", (uint)c.Experts);
        w.SetUInt32(a + "expert_used_count", (uint)c.ExpertsUsed);
        w.SetUInt32(a + "expert_shared_count", (uint)c.SharedExperts);
        w.SetFloat32(a + "expert_weights_scale", c.WeightsScale);
        w.SetBool(a + "expert_weights_norm", c.WeightsNorm);
        w.SetUInt32(a + "expert_gating_func", 2);
        if (c.ExpertGroups > 1)
        {
            w.SetUInt32(a + "expert_group_count", (uint)c.ExpertGroups);
            w.SetUInt32(a + "expert_group_used_count", (uint)c.ExpertGroupsUsed);
        }
        w.SetUInt32(a + "vocab_size", (uint)c.VocabSize);
        vocab.WriteTo(w);

        var names = new List<string>();
        foreach (var (n, t, ne) in DeepSeekGgufLayout.Tensors(model, mtp))
        {
            using var f = t.detach().contiguous().to_type(ScalarType.Float32);
            var data = f.data<float>().ToArray();
            long count = ne.Aggregate(1L, (x, y) => x * y);
            if (count != data.Length) throw new InvalidOperationException($"{n}: {data.Length} values for shape [{string.Join(", ", ne)}]");
            w.AddTensor(n, GgmlType.F32, ne, MemoryMarshal.AsBytes(data.AsSpan()).ToArray());
            names.Add(n);
        }
        w.Write(path);
        return names;
    }
}
