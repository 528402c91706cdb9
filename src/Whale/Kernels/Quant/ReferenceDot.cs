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

    /// <summary>
    /// The row-lane order of the repacked Q4_K kernels (<see cref="TileQ4_KRepacked"/>): per super-block the exact
    /// integer sums S = Σ_j sc_j · Σ q·a (32-value sub-blocks j) and imin = Σ_j m_j · s_j, where s_j = the sub-block's
    /// activation sum from the bsums, wrapped to 16 bits as llama.cpp's AVX2 dot forms it; then f = (float)S · d,
    /// f = fma((float)imin, −dmin, f) and acc = fma(f, a.d, acc).
    /// </summary>
    public static float Q4_KQ8_KRowLane(BlockQ4_K* x, BlockQ8_K* y, int n)
    {
        float acc = 0;
        for (int i = 0; i < n / 256; i++, x++, y++)
            acc = RowLaneSuperBlock(x->D, x->DMin, x->Scales, x->Qs, null, y, acc);
        return acc;
    }

    /// <summary>
    /// The row-lane order of the repacked Q5_K kernels (<see cref="TileQ5_KRepacked"/>): that of
    /// <see cref="Q4_KQ8_KRowLane"/> with the 5-bit quants.
    /// </summary>
    public static float Q5_KQ8_KRowLane(BlockQ5_K* x, BlockQ8_K* y, int n)
    {
        float acc = 0;
        for (int i = 0; i < n / 256; i++, x++, y++)
            acc = RowLaneSuperBlock(x->D, x->DMin, x->Scales, x->Qs, x->Qh, y, acc);
        return acc;
    }

    /// <summary>One Q4_K/Q5_K super-block in the row-lane order, added to acc (<paramref name="qh"/>: Q5_K's fifth bits, or null).</summary>
    private static float RowLaneSuperBlock(ushort d, ushort dmin, byte* scales, byte* qs, byte* qh, BlockQ8_K* y, float acc)
    {
        int sum = 0, imin = 0;
        for (int j = 0; j < 8; j++)
        {
            Quantizer.ScaleMinK4(j, scales, out int sc, out int m);
            int isum = 0;
            for (int l = 0; l < 32; l++)
            {
                byte b = qs[32 * (j / 2) + l];
                int q = j % 2 == 0 ? b & 0xF : b >> 4;
                if (qh != null) q |= ((qh[l] >> j) & 1) << 4;
                isum += q * y->Qs[32 * j + l];
            }
            sum += sc * isum;
            imin += m * (short)(y->BSums[2 * j] + y->BSums[2 * j + 1]);
        }
        float f = sum * Fp16.ToFloat(d);
        f = MathF.FusedMultiplyAdd(imin, -Fp16.ToFloat(dmin), f);
        return MathF.FusedMultiplyAdd(f, y->D, acc);
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

    /// <summary>
    /// The row-lane order of the repacked Q6_K kernels (<see cref="TileQ6_KRepacked"/>): per super-block the exact
    /// integer sum S = Σ_j sc_j · Σ (q − 32)·a over the 16-value sub-blocks j (the −32 taken from the activation
    /// quants, as llama.cpp's AVX2 dot does); then f = (float)S · d and acc = fma(f, a.d, acc).
    /// </summary>
    public static float Q6_KQ8_KRowLane(BlockQ6_K* x, BlockQ8_K* y, int n)
    {
        float acc = 0;
        for (int i = 0; i < n / 256; i++, x++, y++)
        {
            int sum = 0;
            for (int j = 0; j < 16; j++)
            {
                int isum = 0;
                for (int l = 0; l < 16; l++) isum += (Q6Value(x, 16 * j + l) - 32) * y->Qs[16 * j + l];
                sum += x->Scales[j] * isum;
            }
            float f = sum * Fp16.ToFloat(x->D);
            acc = MathF.FusedMultiplyAdd(f, y->D, acc);
        }
        return acc;
    }

    /// <summary>Value <paramref name="v"/> (0..255) of a Q6_K block as its unsigned 6-bit quant (0..63).</summary>
    internal static int Q6Value(BlockQ6_K* x, int v)
    {
        int half = v / 128, l = v % 32, c = v % 128 / 32;
        int low = x->Ql[64 * half + l + 32 * (c & 1)];
        low = c < 2 ? low & 0xF : low >> 4;
        return low | (((x->Qh[32 * half + l] >> (2 * c)) & 3) << 4);
    }
}
