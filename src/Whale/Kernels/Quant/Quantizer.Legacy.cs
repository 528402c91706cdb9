namespace Whale.Kernels.Quant;

// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: 32-value blocks (ggml-quants.c dequantize_row_* / quantize_row_*_ref).
public static unsafe partial class Quantizer
{
    internal static void DequantizeQ4_0(BlockQ4_0* x, float* y, int n)
    {
        for (int i = 0; i < n / 32; i++, x++, y += 32)
        {
            float d = Fp16.ToFloat(x->D);
            for (int j = 0; j < 16; j++)
            {
                y[j] = ((x->Qs[j] & 0xF) - 8) * d;
                y[j + 16] = ((x->Qs[j] >> 4) - 8) * d;
            }
        }
    }

    internal static void DequantizeQ4_1(BlockQ4_1* x, float* y, int n)
    {
        for (int i = 0; i < n / 32; i++, x++, y += 32)
        {
            float d = Fp16.ToFloat(x->D), m = Fp16.ToFloat(x->M);
            for (int j = 0; j < 16; j++)
            {
                y[j] = (x->Qs[j] & 0xF) * d + m;
                y[j + 16] = (x->Qs[j] >> 4) * d + m;
            }
        }
    }

    internal static void DequantizeQ5_0(BlockQ5_0* x, float* y, int n)
    {
        for (int i = 0; i < n / 32; i++, x++, y += 32)
        {
            float d = Fp16.ToFloat(x->D);
            uint h = *(uint*)x->Qh;
            for (int j = 0; j < 16; j++)
            {
                int lo = (x->Qs[j] & 0xF) | (int)(((h >> j) & 1) << 4);
                int hi = (x->Qs[j] >> 4) | (int)(((h >> (j + 16)) & 1) << 4);
                y[j] = (lo - 16) * d;
                y[j + 16] = (hi - 16) * d;
            }
        }
    }

    internal static void DequantizeQ5_1(BlockQ5_1* x, float* y, int n)
    {
        for (int i = 0; i < n / 32; i++, x++, y += 32)
        {
            float d = Fp16.ToFloat(x->D), m = Fp16.ToFloat(x->M);
            uint h = *(uint*)x->Qh;
            for (int j = 0; j < 16; j++)
            {
                int lo = (x->Qs[j] & 0xF) | (int)(((h >> j) & 1) << 4);
                int hi = (x->Qs[j] >> 4) | (int)(((h >> (j + 16)) & 1) << 4);
                y[j] = lo * d + m;
                y[j + 16] = hi * d + m;
            }
        }
    }

    internal static void DequantizeQ8_0(BlockQ8_0* x, float* y, int n)
    {
        for (int i = 0; i < n / 32; i++, x++, y += 32)
        {
            float d = Fp16.ToFloat(x->D);
            for (int j = 0; j < 32; j++) y[j] = x->Qs[j] * d;
        }
    }

    /// <summary>Signed value of largest magnitude (first one on ties).</summary>
    private static float SignedAbsMax(float* x, int count)
    {
        float amax = 0, max = 0;
        for (int j = 0; j < count; j++)
        {
            float a = MathF.Abs(x[j]);
            if (a > amax) { amax = a; max = x[j]; }
        }
        return max;
    }

    private static void MinMax(float* x, int count, out float min, out float max)
    {
        min = float.MaxValue; max = -float.MaxValue;
        for (int j = 0; j < count; j++)
        {
            min = MathF.Min(min, x[j]);
            max = MathF.Max(max, x[j]);
        }
    }

    internal static void QuantizeQ4_0(float* x, BlockQ4_0* y, int n)
    {
        for (int i = 0; i < n / 32; i++, x += 32, y++)
        {
            float max = SignedAbsMax(x, 32);
            float d = max / -8, id = d != 0 ? 1 / d : 0;
            y->D = Fp16.FromFloat(d);
            for (int j = 0; j < 16; j++)
            {
                int q0 = Math.Min(15, (int)(sbyte)(x[j] * id + 8.5f));
                int q1 = Math.Min(15, (int)(sbyte)(x[j + 16] * id + 8.5f));
                y->Qs[j] = (byte)(q0 | (q1 << 4));
            }
        }
    }

    internal static void QuantizeQ4_1(float* x, BlockQ4_1* y, int n)
    {
        for (int i = 0; i < n / 32; i++, x += 32, y++)
        {
            MinMax(x, 32, out float min, out float max);
            float d = (max - min) / 15, id = d != 0 ? 1 / d : 0;
            y->D = Fp16.FromFloat(d);
            y->M = Fp16.FromFloat(min);
            for (int j = 0; j < 16; j++)
            {
                int q0 = Math.Min(15, (int)(sbyte)((x[j] - min) * id + 0.5f));
                int q1 = Math.Min(15, (int)(sbyte)((x[j + 16] - min) * id + 0.5f));
                y->Qs[j] = (byte)(q0 | (q1 << 4));
            }
        }
    }

    internal static void QuantizeQ5_0(float* x, BlockQ5_0* y, int n)
    {
        for (int i = 0; i < n / 32; i++, x += 32, y++)
        {
            float max = SignedAbsMax(x, 32);
            float d = max / -16, id = d != 0 ? 1 / d : 0;
            y->D = Fp16.FromFloat(d);
            uint qh = 0;
            for (int j = 0; j < 16; j++)
            {
                int q0 = Math.Min(31, (int)(sbyte)(x[j] * id + 16.5f));
                int q1 = Math.Min(31, (int)(sbyte)(x[j + 16] * id + 16.5f));
                y->Qs[j] = (byte)((q0 & 0xF) | ((q1 & 0xF) << 4));
                qh |= (uint)((q0 & 0x10) >> 4) << j;
                qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
            }
            *(uint*)y->Qh = qh;
        }
    }

    internal static void QuantizeQ5_1(float* x, BlockQ5_1* y, int n)
    {
        for (int i = 0; i < n / 32; i++, x += 32, y++)
        {
            MinMax(x, 32, out float min, out float max);
            float d = (max - min) / 31, id = d != 0 ? 1 / d : 0;
            y->D = Fp16.FromFloat(d);
            y->M = Fp16.FromFloat(min);
            uint qh = 0;
            for (int j = 0; j < 16; j++)
            {
                int q0 = Math.Min(31, (int)((x[j] - min) * id + 0.5f));
                int q1 = Math.Min(31, (int)((x[j + 16] - min) * id + 0.5f));
                y->Qs[j] = (byte)((q0 & 0xF) | ((q1 & 0xF) << 4));
                qh |= (uint)((q0 & 0x10) >> 4) << j;
                qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
            }
            *(uint*)y->Qh = qh;
        }
    }

    /// <summary>quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d) (half away from zero).</summary>
    internal static void QuantizeQ8_0(float* x, BlockQ8_0* y, int n)
    {
        for (int i = 0; i < n / 32; i++, x += 32, y++)
        {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(x[j]));
            float d = amax / 127, id = d != 0 ? 1 / d : 0;
            y->D = Fp16.FromFloat(d);
            for (int j = 0; j < 32; j++) y->Qs[j] = (sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
        }
    }
}
