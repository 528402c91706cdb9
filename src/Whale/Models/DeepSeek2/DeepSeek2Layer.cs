using Whale.Kernels;

namespace Whale.Models.DeepSeek2;

/// <summary>
/// Weights of one deepseek2 decoder block. Shapes as rows x cols (GGUF ne reversed): E embed, H heads, Dn/Dr/Dv head
/// parts, C kv_lora_rank, Q q_lora_rank, X experts, F dense ffn, Fe expert ffn, S shared experts.
/// </summary>
internal sealed class DeepSeek2Layer
{
    public required float[] AttnNorm { get; init; }              // [E]
    public WeightMatrix? Wq { get; init; }                       // [H*(Dn+Dr), E]   (direct query, V2-Lite)
    public WeightMatrix? WqA { get; init; }                      // [Q, E]
    public float[]? QaNorm { get; init; }                        // [Q]
    public WeightMatrix? WqB { get; init; }                      // [H*(Dn+Dr), Q]
    public required WeightMatrix WkvA { get; init; }             // [C+Dr, E]
    public required float[] KvaNorm { get; init; }               // [C]
    public required WeightMatrix[] Kb { get; init; }             // H x [C, Dn]: absorbs q_nope into the latent space
    public required WeightMatrix[] Vb { get; init; }             // H x [Dv, C]: latent attention output -> value head
    public required WeightMatrix Wo { get; init; }               // [E, H*Dv]
    public required float[] FfnNorm { get; init; }               // [E]

    // dense FFN (leading layers)
    public WeightMatrix? Gate { get; init; }                     // [F, E]
    public WeightMatrix? Up { get; init; }                       // [F, E]
    public WeightMatrix? Down { get; init; }                     // [E, F]

    // MoE
    public WeightMatrix? GateInp { get; init; }                  // [X, E] router
    public float[]? ExpProbsBias { get; init; }                  // [X] selection bias (V3)
    public WeightMatrix[]? GateExps { get; init; }               // X x [Fe, E]
    public WeightMatrix[]? UpExps { get; init; }                 // X x [Fe, E]
    public WeightMatrix[]? DownExps { get; init; }               // X x [E, Fe]
    public WeightMatrix? GateShexp { get; init; }                // [Fe*S, E]
    public WeightMatrix? UpShexp { get; init; }                  // [Fe*S, E]
    public WeightMatrix? DownShexp { get; init; }                // [E, Fe*S]

    public bool IsMoe => GateInp is not null;
}
