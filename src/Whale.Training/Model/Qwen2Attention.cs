using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whale.Training.Model;

/// <summary>
/// qwen2 attention: q/k/v projections with biases (none on the output), NEOX RoPE over the whole head, grouped-query
/// attention (head h reads KV head h / (H / Hkv)), causal softmax with scale 1/sqrt(D).
/// </summary>
public sealed class Qwen2Attention : nn.Module
{
    private readonly TinyQwen2Config _c;
#pragma warning disable IDE1006 // field names are the parameter names
    public readonly Parameter q, k, v, o;               // q [H*D, E], k/v [Hkv*D, E], o [E, H*D]
    public readonly Parameter q_bias, k_bias, v_bias;   // [H*D], [Hkv*D], [Hkv*D]
#pragma warning restore IDE1006

    public Qwen2Attention(TinyQwen2Config c) : base(nameof(Qwen2Attention))
    {
        _c = c;
        int E = c.Embed, qDim = c.Heads * c.HeadDim, kvDim = c.KvHeads * c.HeadDim;
        q = Init.Linear(qDim, E);
        k = Init.Linear(kvDim, E);
        v = Init.Linear(kvDim, E);
        o = Init.Linear(E, qDim, 0.5f);
        q_bias = Init.Zeros(qDim);
        k_bias = Init.Zeros(kvDim);
        v_bias = Init.Zeros(kvDim);
        RegisterComponents();
    }

    /// <summary>
    /// Rounds what the engines round (q, K and V as in an F16 cache, and the softmax weights before V·p) to F16, so a
    /// parity test can compare with Whale and llama.cpp far below the F16 noise. Off in training.
    /// </summary>
    internal bool RoundLikeF16Cache { get; set; }

    /// <summary>x [B, T, E] -> [B, T, E]; causal over positions 0..T-1.</summary>
    public Tensor Forward(Tensor x, NeoxRope rope)
    {
        var c = _c;
        long B = x.shape[0], T = x.shape[1];
        int H = c.Heads, Hkv = c.KvHeads, D = c.HeadDim;
        var qh = rope.Apply(F.linear(x, q, q_bias).view(B, T, H, D)).permute(0, 2, 1, 3);     // [B, H, T, D]
        var kh = rope.Apply(F.linear(x, k, k_bias).view(B, T, Hkv, D)).permute(0, 2, 1, 3);   // [B, Hkv, T, D]
        var vh = F.linear(x, v, v_bias).view(B, T, Hkv, D).permute(0, 2, 1, 3);               // [B, Hkv, T, D]
        if (RoundLikeF16Cache) (qh, kh, vh) = (F16(qh), F16(kh), F16(vh));
        if (H != Hkv)
        {
            kh = kh.repeat_interleave(H / Hkv, 1);                                            // [B, H, T, D]
            vh = vh.repeat_interleave(H / Hkv, 1);
        }
        var scores = matmul(qh, kh.transpose(-1, -2)) * c.KqScale;                            // [B, H, T, T]
        var mask = ones(T, T, dtype: ScalarType.Bool).triu(1);
        var p = F.softmax(scores.masked_fill(mask, float.NegativeInfinity), -1);
        if (RoundLikeF16Cache) p = F16(p);
        var outh = matmul(p, vh);                                                             // [B, H, T, D]
        return F.linear(outh.permute(0, 2, 1, 3).reshape(B, T, H * D), o);
    }

    private static Tensor F16(Tensor t) => t.to_type(ScalarType.Float16).to_type(ScalarType.Float32);
}
