using Whale.Gguf;
using Whale.Kernels.Quant;

namespace Whale.Tests.Kernels.Quant;

/// <summary>K-quant weight rows and Q8_K activation rows for kernel tests: realistic ones and adversarial raw blocks.</summary>
internal static unsafe class KQuantData
{
    /// <summary>fp16 bits of ±m·2^e, e from subnormal to near the top of the range.</summary>
    private static ushort RandomHalf(Random rng)
        => Fp16.FromFloat((rng.Next(2) == 0 ? 1 : -1) * (float)(1 + rng.NextDouble()) * MathF.Pow(2, rng.Next(-24, 15)));

    private static float RandomMagnitude(Random rng) => MathF.Pow(10, rng.Next(-12, 13));

    /// <summary>Rows of <paramref name="t"/> (Q4_K/Q5_K/Q6_K): even rows quantized from floats, odd rows random bytes with random fp16 scales.</summary>
    public static byte[] RandomWeights(GgmlType t, int rows, int n, Random rng)
    {
        long rb = GgmlTypeTraits.RowBytes(t, n);
        var w = new byte[rb * rows];
        int bb = GgmlTypeTraits.BlockBytes(t), nb = n / 256;
        int[] halves = t == GgmlType.Q6_K ? [208] : [0, 2];
        for (int r = 0; r < rows; r++)
        {
            var row = w.AsSpan((int)(r * rb), (int)rb);
            if (r % 2 == 0)
            {
                Quantizer.QuantizeRow(t, QuantTestData.RandomFloats(rng, n, r % 4 == 0 ? 1f : 1e-3f), row);
                continue;
            }
            rng.NextBytes(row);
            for (int i = 0; i < nb; i++)
                foreach (int off in halves) BitConverter.TryWriteBytes(row.Slice(i * bb + off), RandomHalf(rng));
        }
        return w;
    }

    /// <summary>Q8_K rows: most quantized from floats of random magnitude (some all zero), some raw random blocks
    /// (quants down to −128, a random f32 scale, bsums either consistent with the quants or random).</summary>
    public static byte[] RandomActivations(int batch, int n, Random rng)
    {
        long arb = GgmlTypeTraits.RowBytes(GgmlType.Q8_K, n);
        var a = new byte[arb * batch];
        for (int b = 0; b < batch; b++)
        {
            var row = a.AsSpan((int)(b * arb), (int)arb);
            int kind = rng.Next(5);
            if (kind == 0)
            {
                rng.NextBytes(row);
                for (int i = 0; i < n / 256; i++)
                {
                    var block = row.Slice(i * sizeof(BlockQ8_K), sizeof(BlockQ8_K));
                    BitConverter.TryWriteBytes(block, (float)(rng.NextDouble() + 0.5) * RandomMagnitude(rng));
                    if (rng.Next(2) == 0)
                        for (int g = 0; g < 16; g++)
                        {
                            int s = 0;
                            for (int l = 0; l < 16; l++) s += (sbyte)block[4 + 16 * g + l];
                            BitConverter.TryWriteBytes(block.Slice(260 + 2 * g), (short)s);
                        }
                }
                continue;
            }
            var x = QuantTestData.RandomFloats(rng, n, kind == 1 ? 0f : RandomMagnitude(rng));
            fixed (float* px = x)
            fixed (byte* pq = row)
                ActivationQuantizer.Convert(GgmlType.Q8_K, px, pq, n);
        }
        return a;
    }
}
