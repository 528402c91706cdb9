namespace Whale.Kernels.Quant;

/// <summary>
/// Scalar dot products weight-row · activation-row (ggml_vec_dot_*_generic semantics): exact integer sums per
/// block, scaled in f32. The test oracle for <see cref="VecDot"/>; also its fallback without AVX2.
/// </summary>
internal static unsafe class ReferenceDot
{
    public static float F32(float* x, float* y, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double)x[i] * y[i];
        return (float)sum;
    }

    public static float F16(ushort* x, ushort* y, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double)Fp16.ToFloat(x[i]) * Fp16.ToFloat(y[i]);
        return (float)sum;
    }

    public static float BF16(ushort* x, ushort* y, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double)Fp16.BF16ToFloat(x[i]) * Fp16.BF16ToFloat(y[i]);
        return (float)sum;
    }

    public static float Q4_0Q8_0(BlockQ4_0* x, BlockQ8_0* y, int n)
    {
        float sumf = 0;
        for (int ib = 0; ib < n / 32; ib++, x++, y++)
        {
            int sumi = 0;
            for (int j = 0; j < 16; j++)
            {
                sumi += ((x->Qs[j] & 0xF) - 8) * y->Qs[j];
                sumi += ((x->Qs[j] >> 4) - 8) * y->Qs[j + 16];
            }
            sumf += sumi * (Fp16.ToFloat(x->D) * Fp16.ToFloat(y->D));
        }
        return sumf;
    }

    public static float Q5_0Q8_0(BlockQ5_0* x, BlockQ8_0* y, int n)
    {
        float sumf = 0;
        for (int ib = 0; ib < n / 32; ib++, x++, y++)
        {
            uint h = *(uint*)x->Qh;
            int sumi = 0;
            for (int j = 0; j < 16; j++)
            {
                int lo = ((x->Qs[j] & 0xF) | (int)(((h >> j) & 1) << 4)) - 16;
                int hi = ((x->Qs[j] >> 4) | (int)(((h >> (j + 16)) & 1) << 4)) - 16;
                sumi += lo * y->Qs[j] + hi * y->Qs[j + 16];
            }
            sumf += sumi * (Fp16.ToFloat(x->D) * Fp16.ToFloat(y->D));
        }
        return sumf;
    }

    public static float Q8_0Q8_0(BlockQ8_0* x, BlockQ8_0* y, int n)
    {
        float sumf = 0;
        for (int ib = 0; ib < n / 32; ib++, x++, y++)
        {
            int sumi = 0;
            for (int j = 0; j < 32; j++) sumi += x->Qs[j] * y->Qs[j];
            sumf += sumi * (Fp16.ToFloat(x->D) * Fp16.ToFloat(y->D));
        }
        return sumf;
    }

    /// <summary>
    /// The row-lane order of the repacked Q8_0 kernels (<see cref="TileQ8_0Repacked"/>): per block the exact integer
    /// sum, then one fused multiply-add with the f32 product of the scales into a single f32 accumulator.
    /// </summary>
    public static float Q8_0Q8_0RowLane(BlockQ8_0* x, BlockQ8_0* y, int n)
    {
        float sumf = 0;
        for (int ib = 0; ib < n / 32; ib++, x++, y++)
        {
            int sumi = 0;
            for (int j = 0; j < 32; j++) sumi += x->Qs[j] * y->Qs[j];
            sumf = MathF.FusedMultiplyAdd(sumi, Fp16.ToFloat(x->D) * Fp16.ToFloat(y->D), sumf);
        }
        return sumf;
    }

    public static float Q4_1Q8_1(BlockQ4_1* x, BlockQ8_1* y, int n)
    {
        float sumf = 0;
        for (int ib = 0; ib < n / 32; ib++, x++, y++)
        {
            int sumi = 0;
            for (int j = 0; j < 16; j++)
                sumi += (x->Qs[j] & 0xF) * y->Qs[j] + (x->Qs[j] >> 4) * y->Qs[j + 16];
            sumf += Fp16.ToFloat(x->D) * Fp16.ToFloat(y->D) * sumi + Fp16.ToFloat(x->M) * Fp16.ToFloat(y->S);
        }
        return sumf;
    }

    public static float Q5_1Q8_1(BlockQ5_1* x, BlockQ8_1* y, int n)
    {
        float sumf = 0;
        for (int ib = 0; ib < n / 32; ib++, x++, y++)
        {
            uint h = *(uint*)x->Qh;
            int sumi = 0;
            for (int j = 0; j < 16; j++)
            {
                int lo = (x->Qs[j] & 0xF) | (int)(((h >> j) & 1) << 4);
                int hi = (x->Qs[j] >> 4) | (int)(((h >> (j + 16)) & 1) << 4);
                sumi += lo * y->Qs[j] + hi * y->Qs[j + 16];
            }
            sumf += Fp16.ToFloat(x->D) * Fp16.ToFloat(y->D) * sumi + Fp16.ToFloat(x->M) * Fp16.ToFloat(y->S);
        }
        return sumf;
    }

    /// <summary>Integer part of one Q4_K/Q5_K super-block: Σ_j sc_j·Σ q·q8 and Σ_j m_j·(bsum pairs).</summary>
    private static void KSums(byte* scales, byte* q, BlockQ8_K* y, out int sumq, out int summ)
    {
        sumq = 0; summ = 0;
        for (int j = 0; j < 8; j++)
        {
            Quantizer.ScaleMinK4(j, scales, out int sc, out int m);
            int s = 0;
            for (int l = 0; l < 32; l++) s += q[32 * j + l] * y->Qs[32 * j + l];
            sumq += sc * s;
            summ += m * (y->BSums[2 * j] + y->BSums[2 * j + 1]);
        }
    }

    public static float Q4_KQ8_K(BlockQ4_K* x, BlockQ8_K* y, int n)
    {
        byte* q = stackalloc byte[256];
        float sumf = 0;
        for (int i = 0; i < n / 256; i++, x++, y++)
        {
            for (int c = 0; c < 4; c++)
                for (int l = 0; l < 32; l++)
                {
                    q[64 * c + l] = (byte)(x->Qs[32 * c + l] & 0xF);
                    q[64 * c + 32 + l] = (byte)(x->Qs[32 * c + l] >> 4);
                }
            KSums(x->Scales, q, y, out int sumq, out int summ);
            float d = Fp16.ToFloat(x->D) * y->D, dmin = Fp16.ToFloat(x->DMin) * y->D;
            sumf += d * sumq - dmin * summ;
        }
        return sumf;
    }

    public static float Q5_KQ8_K(BlockQ5_K* x, BlockQ8_K* y, int n)
    {
        byte* q = stackalloc byte[256];
        float sumf = 0;
        for (int i = 0; i < n / 256; i++, x++, y++)
        {
            for (int c = 0; c < 4; c++)
                for (int l = 0; l < 32; l++)
                {
                    int h = x->Qh[l];
                    q[64 * c + l] = (byte)((x->Qs[32 * c + l] & 0xF) | (((h >> (2 * c)) & 1) << 4));
                    q[64 * c + 32 + l] = (byte)((x->Qs[32 * c + l] >> 4) | (((h >> (2 * c + 1)) & 1) << 4));
                }
            KSums(x->Scales, q, y, out int sumq, out int summ);
            float d = Fp16.ToFloat(x->D) * y->D, dmin = Fp16.ToFloat(x->DMin) * y->D;
            sumf += d * sumq - dmin * summ;
        }
        return sumf;
    }

    public static float Q6_KQ8_K(BlockQ6_K* x, BlockQ8_K* y, int n)
    {
        sbyte* q = stackalloc sbyte[256];
        float sumf = 0;
        for (int i = 0; i < n / 256; i++, x++, y++)
        {
            byte* ql = x->Ql;
            byte* qh = x->Qh;
            for (int half = 0; half < 2; half++, ql += 64, qh += 32)
            {
                sbyte* o = q + 128 * half;
                for (int l = 0; l < 32; l++)
                {
                    o[l] = (sbyte)(((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32);
                    o[l + 32] = (sbyte)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                    o[l + 64] = (sbyte)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                    o[l + 96] = (sbyte)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
                }
            }
            int sumi = 0;
            for (int k = 0; k < 16; k++)
            {
                int s = 0;
                for (int l = 0; l < 16; l++) s += q[16 * k + l] * y->Qs[16 * k + l];
                sumi += x->Scales[k] * s;
            }
            sumf += Fp16.ToFloat(x->D) * y->D * sumi;
        }
        return sumf;
    }
}
