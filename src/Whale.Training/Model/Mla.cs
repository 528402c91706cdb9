using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whale.Training.Model;

/// <summary>
/// Multi-head latent attention as deepseek2 GGUF files define it. The keys and values of all heads come from one
/// latent c = rmsnorm(kv_a[:C]) through k_b/v_b (kept here in the GGUF split layout), plus one shared rope key
/// kv_a[C:]. Training uses the expanded form; Whale and llama.cpp use the absorbed form, which is the same product.
/// </summary>
public sealed class Mla : nn.Module
{
    private readonly TinyDeepSeekConfig _c;
#pragma warning disable IDE1006 // field names are the parameter names
    public readonly Parameter? q_a, q_b, q;   // q_a [Q, E], q_b [H*Dk, Q] | q [H*Dk, E]
    public readonly RmsNorm? q_a_norm;
    public readonly Parameter kv_a;          // [C+Dr, E]
    public readonly RmsNorm kv_a_norm;
    public readonly Parameter k_b;           // [H, Dn, C]
    public readonly Parameter v_b;           // [H, Dv, C]
    public readonly Parameter o;             // [E, H*Dv]
#pragma warning restore IDE1006

    public Mla(TinyDeepSeekConfig c) : base(nameof(Mla))
    {
        _c = c;
        int E = c.Embed, H = c.Heads;
        if (c.QLoraRank > 0)
        {
            q_a = Init.Linear(c.QLoraRank, E);
            q_a_norm = new RmsNorm(c.QLoraRank, c.RmsEps);
            q_b = Init.Linear(H * c.QkHead, c.QLoraRank);
        }
        else
        {
            q = Init.Linear(H * c.QkHead, E);
        }
        kv_a = Init.Linear(c.KvLoraRank + c.QkRope, E);
        kv_a_norm = new RmsNorm(c.KvLoraRank, c.RmsEps);
        k_b = Init.Normal(1f / MathF.Sqrt(c.KvLoraRank), H, c.QkNope, c.KvLoraRank);
        v_b = Init.Normal(1f / MathF.Sqrt(c.KvLoraRank), H, c.VHead, c.KvLoraRank);
        o = Init.Linear(E, H * c.VHead, 0.5f);
        RegisterComponents();
    }

    /// <summary>x [B, T, E] -> [B, T, E]; causal; positions offset..offset+T-1 (with a cache: after its positions).</summary>
    public Tensor Forward(Tensor x, NormRope rope, int offset = 0, LayerCache? cache = null)
    {
        var c = _c;
        long B = x.shape[0], T = x.shape[1];
        int H = c.Heads, C = c.KvLoraRank;
        var qf = q_a is not null ? F.linear(q_a_norm!.forward(F.linear(x, q_a)), q_b!) : F.linear(x, q!);
        var qh = qf.view(B, T, H, c.QkHead);                                  // [B, T, H, Dk]
        var qNope = qh.narrow(-1, 0, c.QkNope);                               // [B, T, H, Dn]
        var qPe = rope.Apply(qh.narrow(-1, c.QkNope, c.QkRope).contiguous(), offset); // [B, T, H, Dr]
        var kv = F.linear(x, kv_a);                                           // [B, T, C+Dr]
        var latent = kv_a_norm.forward(kv.narrow(-1, 0, C));                  // [B, T, C]
        var kPe = rope.Apply(kv.narrow(-1, C, c.QkRope).contiguous(), offset); // [B, T, Dr]
        var kNope = einsum("btc,hdc->bhtd", latent, k_b);                      // [B, H, T, Dn]
        var v = einsum("btc,hdc->bhtd", latent, v_b);                          // [B, H, T, Dv]
        if (cache is not null) (kNope, v, kPe) = cache.Append(kNope, v, kPe); // S = cached + T keys
        long S = kNope.shape[2];
        var scores = matmul(qNope.permute(0, 2, 1, 3), kNope.transpose(-1, -2))      // [B, H, T, S]
                   + matmul(qPe.permute(0, 2, 1, 3), kPe.unsqueeze(1).transpose(-1, -2));
        scores = scores * c.KqScale;
        var mask = ones(T, S, dtype: ScalarType.Bool).triu(S - T + 1);
        scores = scores.masked_fill(mask, float.NegativeInfinity);
        // left padding: a large finite value, so the (ignored) queries at padded positions still see a finite row
        if (cache?.Padding is { } pad) scores = scores.masked_fill(pad.narrow(1, 0, S).view(B, 1, 1, S), -1e9f);
        var p = F.softmax(scores, -1);
        var outh = matmul(p, v);                                              // [B, H, T, Dv]
        return F.linear(outh.permute(0, 2, 1, 3).reshape(B, T, H * c.VHead), o);
    }
}
