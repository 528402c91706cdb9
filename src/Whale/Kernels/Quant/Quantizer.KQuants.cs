namespace Whale.Kernels.Quant;

// Q4_K, Q5_K, Q6_K: 256-value super-blocks (ggml-quants.c dequantize_row_q*_K; the encoders are a plain fit).
public static unsafe partial class Quantizer
{
    /// <summary>6-bit scale and min of sub-block j from the 12 packed bytes (get_scale_min_k4).</summary>
    internal static void ScaleMinK4(int j, byte* q, out int sc, out int m)
    {
        if (j < 4)
        {
            sc = q[j] & 63;
            m = q[j + 4] & 63;
        }
        else
        {
            sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }

    /// <summary>Packs eight 6-bit scales and mins into 12 bytes (inverse of <see cref="ScaleMinK4"/>).</summary>
    internal static void PackScaleMinK4(byte* q, byte* ls, byte* lm)
    {
        for (int j = 0; j < 12; j++) q[j] = 0;
        for (int j = 0; j < 8; j++)
        {
            if (j < 4)
            {
                q[j] = ls[j];
                q[j + 4] = lm[j];
            }
            else
            {
                q[j + 4] = (byte)((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
                q[j - 4] |= (byte)((ls[j] >> 4) << 6);
                q[j] |= (byte)((lm[j] >> 4) << 6);
            }
        }
    }

    internal static void DequantizeQ4_K(BlockQ4_K* x, float* y, int n)
    {
        for (int i = 0; i < n / 256; i++, x++)
        {
            float d = Fp16.ToFloat(x->D), dmin = Fp16.ToFloat(x->DMin);
            byte* q = x->Qs;
            for (int c = 0; c < 4; c++, q += 32)
            {
                ScaleMinK4(2 * c, x->Scales, out int sc1, out int m1);
                ScaleMinK4(2 * c + 1, x->Scales, out int sc2, out int m2);
                float d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2;
                for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xF) - mm1;
                for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - mm2;
            }
        }
    }

    internal static void DequantizeQ5_K(BlockQ5_K* x, float* y, int n)
    {
        for (int i = 0; i < n / 256; i++, x++)
        {
            float d = Fp16.ToFloat(x->D), dmin = Fp16.ToFloat(x->DMin);
            byte* q = x->Qs;
            byte* qh = x->Qh;
            int u1 = 1, u2 = 2;
            for (int c = 0; c < 4; c++, q += 32, u1 <<= 2, u2 <<= 2)
            {
                ScaleMinK4(2 * c, x->Scales, out int sc1, out int m1);
                ScaleMinK4(2 * c + 1, x->Scales, out int sc2, out int m2);
                float d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2;
                for (int l = 0; l < 32; l++) *y++ = d1 * ((q[l] & 0xF) + ((qh[l] & u1) != 0 ? 16 : 0)) - mm1;
                for (int l = 0; l < 32; l++) *y++ = d2 * ((q[l] >> 4) + ((qh[l] & u2) != 0 ? 16 : 0)) - mm2;
            }
        }
    }

    internal static void DequantizeQ6_K(BlockQ6_K* x, float* y, int n)
    {
        for (int i = 0; i < n / 256; i++, x++)
        {
            float d = Fp16.ToFloat(x->D);
            byte* ql = x->Ql;
            byte* qh = x->Qh;
            sbyte* sc = x->Scales;
            for (int half = 0; half < 2; half++, y += 128, ql += 64, qh += 32, sc += 8)
            {
                for (int l = 0; l < 32; l++)
                {
                    int s = l / 16;
                    int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    y[l] = d * sc[s] * q1;
                    y[l + 32] = d * sc[s + 2] * q2;
                    y[l + 64] = d * sc[s + 4] * q3;
                    y[l + 96] = d * sc[s + 6] * q4;
                }
            }
        }
    }

    /// <summary>
    /// Fits one 256-value super-block with 8 sub-blocks of 32 as q·d·sc − dmin·m, q in [0, qmax]; writes the
    /// packed scales, fp16 d/dmin and the quant values (0..qmax) into L.
    /// </summary>
    private static void FitKBlock(float* x, int qmax, byte* scales, out ushort dBits, out ushort dminBits, byte* L)
    {
        float* subScale = stackalloc float[8];
        float* subMin = stackalloc float[8];
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++)
        {
            MinMax(x + 32 * j, 32, out float mn, out float mx);
            mn = MathF.Min(mn, 0);
            subScale[j] = (mx - mn) / qmax;
            subMin[j] = -mn;
            maxScale = MathF.Max(maxScale, subScale[j]);
            maxMin = MathF.Max(maxMin, subMin[j]);
        }
        dBits = Fp16.FromFloat(maxScale / 63);
        dminBits = Fp16.FromFloat(maxMin / 63);
        float d = Fp16.ToFloat(dBits), dmin = Fp16.ToFloat(dminBits);
        byte* ls = stackalloc byte[8];
        byte* lm = stackalloc byte[8];
        for (int j = 0; j < 8; j++)
        {
            ls[j] = (byte)(d > 0 ? Math.Clamp((int)MathF.Ceiling(subScale[j] / d - 0.01f), 0, 63) : 0);
            lm[j] = (byte)(dmin > 0 ? Math.Clamp((int)MathF.Ceiling(subMin[j] / dmin - 0.01f), 0, 63) : 0);
            float sd = d * ls[j], sm = dmin * lm[j];
            for (int l = 0; l < 32; l++)
            {
                int q = sd > 0 ? (int)MathF.Round((x[32 * j + l] + sm) / sd) : 0;
                L[32 * j + l] = (byte)Math.Clamp(q, 0, qmax);
            }
        }
        PackScaleMinK4(scales, ls, lm);
    }

    internal static void QuantizeQ4_K(float* x, BlockQ4_K* y, int n)
    {
        byte* L = stackalloc byte[256];
        for (int i = 0; i < n / 256; i++, x += 256, y++)
        {
            FitKBlock(x, 15, y->Scales, out y->D, out y->DMin, L);
            for (int c = 0; c < 4; c++)
                for (int l = 0; l < 32; l++)
                    y->Qs[32 * c + l] = (byte)(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
        }
    }

    internal static void QuantizeQ5_K(float* x, BlockQ5_K* y, int n)
    {
        byte* L = stackalloc byte[256];
        for (int i = 0; i < n / 256; i++, x += 256, y++)
        {
            FitKBlock(x, 31, y->Scales, out y->D, out y->DMin, L);
            for (int l = 0; l < 32; l++) y->Qh[l] = 0;
            for (int c = 0; c < 4; c++)
            {
                for (int l = 0; l < 32; l++)
                {
                    int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
                    y->Qs[32 * c + l] = (byte)((lo & 0xF) | ((hi & 0xF) << 4));
                    y->Qh[l] |= (byte)(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
                }
            }
        }
    }

    internal static void QuantizeQ6_K(float* x, BlockQ6_K* y, int n)
    {
        byte* L = stackalloc byte[256];
        float* subScale = stackalloc float[16];
        for (int i = 0; i < n / 256; i++, x += 256, y++)
        {
            float maxScale = 0;
            for (int k = 0; k < 16; k++)
            {
                float amax = 0;
                for (int l = 0; l < 16; l++) amax = MathF.Max(amax, MathF.Abs(x[16 * k + l]));
                subScale[k] = amax / 31;
                maxScale = MathF.Max(maxScale, subScale[k]);
            }
            y->D = Fp16.FromFloat(maxScale / 127);
            float d = Fp16.ToFloat(y->D);
            for (int k = 0; k < 16; k++)
            {
                int sc = d > 0 ? Math.Clamp((int)MathF.Ceiling(subScale[k] / d - 0.01f), 0, 127) : 0;
                y->Scales[k] = (sbyte)sc;
                float sd = d * sc;
                for (int l = 0; l < 16; l++)
                {
                    int q = sd > 0 ? (int)MathF.Round(x[16 * k + l] / sd) : 0;
                    L[16 * k + l] = (byte)(Math.Clamp(q, -32, 31) + 32);
                }
            }
            byte* ql = y->Ql;
            byte* qh = y->Qh;
            for (int j = 0; j < 256; j += 128, ql += 64, qh += 32)
            {
                for (int l = 0; l < 32; l++)
                {
                    int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
                    ql[l] = (byte)((q1 & 0xF) | ((q3 & 0xF) << 4));
                    ql[l + 32] = (byte)((q2 & 0xF) | ((q4 & 0xF) << 4));
                    qh[l] = (byte)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
                }
            }
        }
    }
}
