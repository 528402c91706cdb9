namespace Whale.Kernels;

/// <summary>How RoPE pairs dimensions: NORM rotates (x[2k], x[2k+1]) (llama, deepseek2); NEOX rotates (x[k], x[k+d/2]) (qwen2).</summary>
public enum RopeMode
{
    Norm = 0,
    Neox = 2,
}
