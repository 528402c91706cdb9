using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Whale.Training.Model;

/// <summary>
/// DeepSeekMoE in llama.cpp's build_moe_ffn order: sigmoid scores; selection = scores + routing bias (exp_probs_b,
/// used only to choose); optional group-limited choice (group score = sum of its two best, keep the best groups);
/// top-K; weights = unbiased scores of the chosen, normalized, times expert_weights_scale; plus the shared expert.
/// The bias is not learned by gradient: <see cref="UpdateBias"/> applies DeepSeek-V3's auxiliary-loss-free balancing.
/// Training evaluates every expert densely and weights the unchosen by zero (cheap at this size, same result).
/// </summary>
public sealed class MoE : nn.Module
{
    private readonly TinyDeepSeekConfig _c;
#pragma warning disable IDE1006 // field names are the parameter and buffer names
    public readonly Parameter gate_inp;                   // [X, E]
    public readonly Parameter gate_exps, up_exps;         // [X, Fe, E]
    public readonly Parameter down_exps;                  // [X, E, Fe]
    public readonly SwiGlu shared;
    public readonly Tensor exp_probs_b;                           // [X], the routing bias
    public readonly Tensor routed;                                  // [X], tokens routed since the last bias update
#pragma warning restore IDE1006

    public MoE(TinyDeepSeekConfig c) : base(nameof(MoE))
    {
        _c = c;
        int E = c.Embed, X = c.Experts, Fe = c.ExpertFfn;
        gate_inp = Init.Linear(X, E);
        gate_exps = Init.Normal(1f / MathF.Sqrt(E), X, Fe, E);
        up_exps = Init.Normal(1f / MathF.Sqrt(E), X, Fe, E);
        down_exps = Init.Normal(0.5f / MathF.Sqrt(Fe), X, E, Fe);
        shared = new SwiGlu(E, Fe * c.SharedExperts);
        exp_probs_b = zeros(X);
        routed = zeros(X);
        RegisterComponents();
    }

    /// <summary>Routing for h [N, E]: chosen expert ids [N, K] and their weights [N, K] (differentiable in the router).</summary>
    public (Tensor Ids, Tensor Weights) Route(Tensor h)
    {
        var c = _c;
        var probs = sigmoid(F.linear(h, gate_inp));                  // [N, X]
        Tensor ids;
        using (no_grad())
        {
            var sel = probs.detach() + exp_probs_b;
            if (c.ExpertGroups > 1)
            {
                long n = sel.shape[0];
                var g = sel.view(n, c.ExpertGroups, c.Experts / c.ExpertGroups);
                var groupScore = g.topk(2, -1).values.sum(-1);         // [N, G]
                var keep = groupScore.topk(c.ExpertGroupsUsed, -1).indexes;
                var groupMask = zeros(n, c.ExpertGroups, dtype: ScalarType.Bool).scatter(1, keep, ones_like(keep, dtype: ScalarType.Bool));
                sel = g.masked_fill(groupMask.logical_not().unsqueeze(-1), float.NegativeInfinity).view(n, c.Experts);
            }
            ids = sel.topk(c.ExpertsUsed, -1).indexes;                // [N, K]
        }
        var w = probs.gather(1, ids);                                 // [N, K]
        if (c.WeightsNorm) w = w / w.sum(-1, keepdim: true).clamp_min(6.103515625e-5);
        if (c.WeightsScale != 0f && c.WeightsScale != 1f) w = w * c.WeightsScale;
        return (ids, w);
    }

    /// <summary>h [B, T, E] -> [B, T, E].</summary>
    public Tensor Forward(Tensor h)
    {
        var shape = h.shape;
        var x = h.reshape(-1, _c.Embed);                             // [N, E]
        var (ids, w) = Route(x);
        if (training)
        {
            using var _ = no_grad();
            routed.add_(bincount(ids.flatten(), minlength: _c.Experts).to_type(ScalarType.Float32));
        }
        var dense = zeros(x.shape[0], _c.Experts).scatter(1, ids, w);                        // [N, X]
        var a = F.silu(einsum("ne,xfe->nxf", x, gate_exps)) * einsum("ne,xfe->nxf", x, up_exps); // [N, X, Fe]
        var y = einsum("nxf,xef->nxe", a, down_exps);                                        // [N, X, E]
        var moe = einsum("nx,nxe->ne", dense, y);
        return (moe + shared.forward(x)).view(shape);
    }

    /// <summary>
    /// DeepSeek-V3's auxiliary-loss-free balancing: each expert's bias moves by <paramref name="gamma"/> toward balance,
    /// up when it got fewer tokens than the mean, down when it got more; then the routed counts restart.
    /// </summary>
    public void UpdateBias(float gamma)
    {
        using var _ = no_grad();
        var mean = routed.mean();
        exp_probs_b.add_(sign(mean - routed) * gamma);
        routed.zero_();
    }
}
