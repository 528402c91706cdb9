using Whale.Training.Model;
using static TorchSharp.torch;

namespace Whale.Training.Export;

/// <summary>
/// Where each tensor of <see cref="DeepSeekV3Model"/> lives in a deepseek2 GGUF: its name, a view of the torch tensor
/// whose (row-major) bytes are the file's bytes, and the GGUF shape ne (the view's shape reversed). Shared by
/// <see cref="GgufExporter"/> (view -> file) and <see cref="GgufImporter"/> (file -> view, written in place).
/// </summary>
public static class DeepSeekGgufLayout
{
    /// <summary>The tensors in file order; with <paramref name="includeMtp"/> the MTP block follows as blk.{Layers}.</summary>
    public static IReadOnlyList<(string Name, Tensor View, long[] Ne)> Tensors(DeepSeekV3Model model, bool includeMtp)
    {
        ArgumentNullException.ThrowIfNull(model);
        var c = model.Config;
        var list = new List<(string, Tensor, long[])>();
        void Add(string n, Tensor t, params long[] ne) => list.Add((n, t, ne));
        int E = c.Embed, H = c.Heads, V = c.VocabSize;
        Add("token_embd.weight", model.token_embd, E, V);
        Add("output_norm.weight", model.output_norm.weight, E);
        Add("output.weight", model.output, E, V);
        void Block(string p, DecoderBlock b)
        {
            Add(p + "attn_norm.weight", b.attn_norm.weight, E);
            var m = b.attn;
            if (m.q_a is not null)
            {
                Add(p + "attn_q_a.weight", m.q_a, E, c.QLoraRank);
                Add(p + "attn_q_a_norm.weight", m.q_a_norm!.weight, c.QLoraRank);
                Add(p + "attn_q_b.weight", m.q_b!, c.QLoraRank, H * c.QkHead);
            }
            else
            {
                Add(p + "attn_q.weight", m.q!, E, H * c.QkHead);
            }
            Add(p + "attn_kv_a_mqa.weight", m.kv_a, E, c.KvLoraRank + c.QkRope);
            Add(p + "attn_kv_a_norm.weight", m.kv_a_norm.weight, c.KvLoraRank);
            Add(p + "attn_k_b.weight", m.k_b.transpose(1, 2), c.QkNope, c.KvLoraRank, H);   // [H, C, Dn] = ne {Dn, C, H}
            Add(p + "attn_v_b.weight", m.v_b, c.KvLoraRank, c.VHead, H);                    // [H, Dv, C] = ne {C, Dv, H}
            Add(p + "attn_output.weight", m.o, H * c.VHead, E);
            Add(p + "ffn_norm.weight", b.ffn_norm.weight, E);
            if (b.ffn is { } d)
            {
                Add(p + "ffn_gate.weight", d.gate, E, c.Ffn);
                Add(p + "ffn_up.weight", d.up, E, c.Ffn);
                Add(p + "ffn_down.weight", d.down, c.Ffn, E);
                return;
            }
            var moe = b.moe!;
            int X = c.Experts, Fe = c.ExpertFfn, Fs = Fe * c.SharedExperts;
            Add(p + "ffn_gate_inp.weight", moe.gate_inp, E, X);
            Add(p + "exp_probs_b.bias", moe.exp_probs_b, X);
            Add(p + "ffn_gate_exps.weight", moe.gate_exps, E, Fe, X);
            Add(p + "ffn_up_exps.weight", moe.up_exps, E, Fe, X);
            Add(p + "ffn_down_exps.weight", moe.down_exps, Fe, E, X);
            Add(p + "ffn_gate_shexp.weight", moe.shared.gate, E, Fs);
            Add(p + "ffn_up_shexp.weight", moe.shared.up, E, Fs);
            Add(p + "ffn_down_shexp.weight", moe.shared.down, Fs, E);
        }
        for (int l = 0; l < c.Layers; l++) Block($"blk.{l}.", model.blocks[l]);
        if (includeMtp && model.mtp is { } t)
        {
            string p = $"blk.{c.Layers}.";
            Block(p, t.block);
            Add(p + "nextn.eh_proj.weight", t.eh_proj, 2 * E, E);
            Add(p + "nextn.enorm.weight", t.enorm.weight, E);
            Add(p + "nextn.hnorm.weight", t.hnorm.weight, E);
            Add(p + "nextn.shared_head_norm.weight", t.shared_head_norm.weight, E);
        }
        return list;
    }
}
