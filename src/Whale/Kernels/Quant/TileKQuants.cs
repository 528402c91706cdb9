using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

// Tiled Q4_K/Q5_K/Q6_K × Q8_K products, bit-identical to VecDot.Q4_KQ8_K / Q5_KQ8_K / Q6_KQ8_K (ggml's AVX2 vec_dot).
// Loop nest: chunks of Bc activation rows, then blocks of Rw weight rows, then super-blocks. Per super-block each
// weight row is unpacked once (nibbles, scale vectors, mins) into an aligned stack buffer and then multiplied with
// every activation row of the chunk. The integer lane sums are exact, so they may be formed in any way (512-bit
// halves folded together, the Q6_K −32 offset moved to the weight side); the float steps are the row dot's own:
// per super-block acc8 = fma(yD·xD, (float)sumi8, acc8) [Q4_K: accM = fma(−yD·xDmin, (float)prod4, accM)], then
// hsum_float_8(acc8) [+ hsum(accM), Q5_K: + summs]. The f32 accumulators of a (row, activation) pair live in a stack array.
internal static unsafe class TileKQuants
{
    private const int Rw = 4;            // weight rows per block
    private const int Bc = 64;           // activation rows per chunk
    private const int PairFloats = 24;   // f32 accumulators of the outputs (b, k), (b + 1, k), b even: acc8, acc8, accM, accM
    private const int RowPrep = 640;     // bytes of unpacked weights per row (see the Prep methods)
    private const int OffW = 0, OffS = 256, OffC = 512, OffMins = 576, OffD = 592;

    // ---- drivers --------------------------------------------------------------------------------------------

    private enum Kind { Q4_K, Q5_K, Q6_K }

    public static void MatMulQ4_K(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n,
        float* y, int yStride, TileIsa isa)
        => MatMul(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride, isa, Kind.Q4_K);

    public static void MatMulQ5_K(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n,
        float* y, int yStride, TileIsa isa)
        => MatMul(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride, isa, Kind.Q5_K);

    public static void MatMulQ6_K(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n,
        float* y, int yStride, TileIsa isa)
        => MatMul(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride, isa, Kind.Q6_K);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MatMul(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n,
        float* y, int yStride, TileIsa isa, Kind kind)
    {
        bool q6 = kind == Kind.Q6_K, q5 = kind == Kind.Q5_K;
        int nb = n / 256;
        bool wide = isa == TileIsa.Avx512;
        float* acc = stackalloc float[Bc / 2 * Rw * PairFloats];
        byte* raw = stackalloc byte[Rw * RowPrep + 64];
        byte* prep = (byte*)(((nint)raw + 63) & ~(nint)63);
        for (int b0 = 0; b0 < batch; b0 += Bc)
        {
            int bc = Math.Min(Bc, batch - b0);
            byte* ab = a + b0 * aRowBytes;
            for (int r = r0; r < r1; r += Rw)
            {
                int rw = Math.Min(Rw, r1 - r);
                new Span<float>(acc, (bc + 1) / 2 * Rw * PairFloats).Clear();
                for (int i = 0; i < nb; i++)
                {
                    byte* ai = ab + i * sizeof(BlockQ8_K);
                    if (q6)
                    {
                        for (int k = 0; k < rw; k++)
                        {
                            var x = (BlockQ6_K*)(w + (r + k) * rowBytes) + i;
                            if (wide) PrepQ6_K512(x, prep + k * RowPrep); else PrepQ6_K256(x, prep + k * RowPrep);
                        }
                        if (wide) RowsQ6_K512(prep, rw, ai, aRowBytes, bc, acc);
                        else RowsQ6_K256(prep, rw, ai, aRowBytes, bc, acc);
                    }
                    else
                    {
                        for (int k = 0; k < rw; k++)
                        {
                            byte* x = w + (r + k) * rowBytes;
                            if (q5)
                            {
                                var x5 = (BlockQ5_K*)x + i;
                                if (wide) PrepK4_512(x5->Qs, x5->Qh, x5->Scales, x5->D, x5->DMin, prep + k * RowPrep);
                                else PrepK4_256(x5->Qs, x5->Qh, x5->Scales, x5->D, x5->DMin, prep + k * RowPrep);
                            }
                            else
                            {
                                var x4 = (BlockQ4_K*)x + i;
                                if (wide) PrepK4_512(x4->Qs, null, x4->Scales, x4->D, x4->DMin, prep + k * RowPrep);
                                else PrepK4_256(x4->Qs, null, x4->Scales, x4->D, x4->DMin, prep + k * RowPrep);
                            }
                        }
                        if (wide) RowsK4_512(prep, rw, ai, aRowBytes, bc, acc, q5);
                        else RowsK4_256(prep, rw, ai, aRowBytes, bc, acc, q5);
                    }
                }
                Store(acc, rw, bc, y + (long)b0 * yStride + r, yStride, kind);
            }
        }
    }

    /// <summary>
    /// y[b * yStride + k] = hsum_float_8(acc8) [+ hsum(accM) | + summs] for the chunk's outputs; two activation rows
    /// at a time with the same additions in the same order as <see cref="HSum(Vector256{float})"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Store(float* acc, int rw, int bc, float* y, int yStride, Kind kind)
    {
        int b = 0;
        if (Avx512F.IsSupported)
        {
            for (; b + 2 <= bc; b += 2)
                for (int k = 0; k < rw; k++)
                {
                    float* o = Acc8At(acc, b, k);
                    var a = Vector512.Load(o);
                    // [q0 + q1 | q2 + q3] of the two acc8 (128-bit quarters q): lanes 0-3 even output, 4-7 odd
                    var v = (Avx512F.Shuffle4x128(a, a, 0b00_00_10_00) + Avx512F.Shuffle4x128(a, a, 0b00_00_11_01)).GetLower();
                    var h = Reduce4x2(v);
                    if (kind == Kind.Q4_K) h += Reduce4x2(Vector256.Load(o + 16));
                    else if (kind == Kind.Q5_K) h += Vector256.Create(o[16], 0, 0, 0, o[20], 0, 0, 0);
                    y[(long)b * yStride + k] = h.GetElement(0);
                    y[(long)(b + 1) * yStride + k] = h.GetElement(4);
                }
        }
        for (; b < bc; b++)
            for (int k = 0; k < rw; k++)
            {
                float s = HSum(Vector256.Load(Acc8At(acc, b, k)));
                float* m = AccMAt(acc, b, k);
                y[(long)b * yStride + k] = kind == Kind.Q6_K ? s : kind == Kind.Q5_K ? s + m[0] : s + HSum(Vector128.Load(m));
            }
    }

    /// <summary>Per 128-bit half of v: lane 0 = (v0 + v2) + (v1 + v3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Reduce4x2(Vector256<float> v)
    {
        var t = v + Avx.Permute(v, 0b11_10_11_10);
        return t + Avx.Permute(t, 0b01_01_01_01);
    }

    // ---- shared helpers -------------------------------------------------------------------------------------

    /// <summary>hsum_float_8: (lo+hi) then (0+2)+(1+3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HSum(Vector256<float> v) => HSum(v.GetLower() + v.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HSum(Vector128<float> s) => (s.GetElement(0) + s.GetElement(2)) + (s.GetElement(1) + s.GetElement(3));

    /// <summary>acc8 (8 floats) of output (activation b, weight row k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* Acc8At(float* acc, int b, int k) => acc + ((b >> 1) * Rw + k) * PairFloats + (b & 1) * 8;

    /// <summary>accM (4 floats; Q5_K: summs in the first) of output (activation b, weight row k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* AccMAt(float* acc, int b, int k) => acc + ((b >> 1) * Rw + k) * PairFloats + 16 + (b & 1) * 4;

    /// <summary>The 8-lane sums of two outputs side by side: [lo(t0) + hi(t0) | lo(t1) + hi(t1)].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Fold2(Vector512<int> t0, Vector512<int> t1)
        => Avx512F.Shuffle4x128(t0, t1, 0b01_00_01_00) + Avx512F.Shuffle4x128(t0, t1, 0b11_10_11_10);

    /// <summary>Both acc8 of an even/odd output pair: acc = fma(yd·xd, (float)sumi, acc) lane-wise (16 floats at o).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Acc16(float* o, Vector512<int> sumi, Vector512<float> yd, float xd)
        => Vector512.Store(Avx512F.FusedMultiplyAdd(yd * Vector512.Create(xd), Avx512F.ConvertToVector512Single(sumi), Vector512.Load(o)), o);

    /// <summary>acc8 = fma(d, (float)sumi, acc8) for one output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Acc8(float* o, Vector256<int> sumi, float d)
        => Vector256.Store(Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sumi), Vector256.Load(o)), o);

    /// <summary>accM = fma(dmin, (float)prod, accM) for one output (Q4_K/Q5_K mins).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccM(float* o, Vector128<int> prod, float dmin)
        => Vector128.Store(Fma.MultiplyAdd(Vector128.Create(dmin), Sse2.ConvertToVector128Single(prod), Vector128.Load(o)), o);

    /// <summary>Sums of 32 activation values, as 8 shorts (pairs of the 16-value bsums, wrapped like the row dot's short cast).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Q8Sums32(BlockQ8_K* y)
        => Ssse3.HorizontalAdd(Vector128.Load(y->BSums), Vector128.Load(y->BSums + 8));

    /// <summary>The 8 scales (bytes 0-7) and 8 mins (bytes 8-15) of a Q4_K/Q5_K block (ggml's utmp unpacking).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> ScalesMinsK4(byte* q)
    {
        const uint kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
        uint u0 = Unsafe.ReadUnaligned<uint>(q), u1 = Unsafe.ReadUnaligned<uint>(q + 4), u2 = Unsafe.ReadUnaligned<uint>(q + 8);
        uint u3 = ((u2 >> 4) & kmask2) | (((u1 >> 6) & kmask3) << 4);
        uint m0 = u1 & kmask1;
        u1 = (u2 & kmask2) | (((u0 >> 6) & kmask3) << 4);
        u0 &= kmask1;
        return Vector128.Create(u0, u1, m0, u3).AsByte();
    }

    /// <summary>Σ (lanes of) u8·s8 pairs times int16 scales, added to <paramref name="acc"/> (VNNI vpdpwssd when present).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> MulAdd(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s, Vector256<short> scale)
    {
        var p = Avx2.MultiplyAddAdjacent(u, s);
        if (AvxVnni.IsSupported) return AvxVnni.MultiplyWideningAndAdd(acc, p, scale);
        return acc + Avx2.MultiplyAddAdjacent(p, scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> MulAdd(Vector512<byte> u, Vector512<sbyte> s, Vector512<short> scale)
        => Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), scale);

    // ---- Q4_K / Q5_K ------------------------------------------------------------------------------------------
    // Row dot, per super-block: sumi8 lane l = Σ_j sc[2j]·Σ_{t<4} lo_j[4l+t]·q8[64j+4l+t] + sc[2j+1]·(same for hi_j
    // and q8[64j+32+…]); prod4 lane k = m[2k]·s32[2k] + m[2k+1]·s32[2k+1] with s32 the 32-value activation sums.
    // Q4_K: accM = fma(−yD·xDmin, (float)prod4, accM); Q5_K: summs = fma(−yD·xDmin, Σ prod4, summs) (a scalar).
    // Q5_K quants are the Q4_K nibbles with bit 2j (lo_j) / 2j+1 (hi_j) of qh as their fifth bit.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void QuantsK4(byte* qs, byte* qh, int j, out Vector256<byte> lo, out Vector256<byte> hi)
    {
        var m4 = Vector256.Create((byte)0xF);
        var bits = Vector256.Load(qs + 32 * j);
        lo = bits & m4;
        hi = Vector256.ShiftRightLogical(bits.AsUInt16(), 4).AsByte() & m4;
        if (qh != null)
        {
            var hbits = Vector256.Load(qh);
            var b4 = Vector256.Create((byte)0x10);
            var mlo = Vector256.Create((byte)(1 << (2 * j)));
            var mhi = Vector256.Create((byte)(2 << (2 * j)));
            lo |= Vector256.Equals(hbits & mlo, mlo) & b4;
            hi |= Vector256.Equals(hbits & mhi, mhi) & b4;
        }
    }

    /// <summary>512-bit unpack: W[j] = (lo_j | hi_j) quants, S[j] = 16 × sc[2j] | 16 × sc[2j+1] as shorts, mins, d, dmin.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PrepK4_512(byte* qs, byte* qh, byte* scales, ushort d, ushort dmin, byte* p)
    {
        var W = (Vector512<byte>*)(p + OffW);
        for (int j = 0; j < 4; j++)
        {
            QuantsK4(qs, qh, j, out var lo, out var hi);
            W[j] = Vector512.Create(lo, hi);
        }
        var sm = ScalesMinsK4(scales);
        var sc = Sse41.ConvertToVector128Int16(sm).ToVector256Unsafe().ToVector512Unsafe();
        var idx = Vector512.Create(Vector256<short>.Zero, Vector256<short>.One);
        var S = (Vector512<short>*)(p + OffS);
        for (int j = 0; j < 4; j++) S[j] = Avx512BW.PermuteVar32x16(sc, idx + Vector512.Create((short)(2 * j)));
        *(Vector128<short>*)(p + OffMins) = Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(sm, 8));
        ((float*)(p + OffD))[0] = Fp16.ToFloat(d);
        ((float*)(p + OffD))[1] = Fp16.ToFloat(dmin);
    }

    /// <summary>256-bit unpack: W[2j] = lo_j, W[2j+1] = hi_j, S[s] = 16 × sc[s], mins, d, dmin.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PrepK4_256(byte* qs, byte* qh, byte* scales, ushort d, ushort dmin, byte* p)
    {
        var W = (Vector256<byte>*)(p + OffW);
        for (int j = 0; j < 4; j++) QuantsK4(qs, qh, j, out W[2 * j], out W[2 * j + 1]);
        var sm = ScalesMinsK4(scales);
        var S = (Vector256<short>*)(p + OffS);
        for (int s = 0; s < 8; s++) S[s] = Vector256.Create((short)sm.GetElement(s));
        *(Vector128<short>*)(p + OffMins) = Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(sm, 8));
        ((float*)(p + OffD))[0] = Fp16.ToFloat(d);
        ((float*)(p + OffD))[1] = Fp16.ToFloat(dmin);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishK4(byte* p, float* acc, int b, int k, Vector256<int> sumi, float yd, Vector128<short> s32, bool q5)
    {
        float* d = (float*)(p + OffD);
        Acc8(Acc8At(acc, b, k), sumi, yd * d[0]);
        MinsK4(p, AccMAt(acc, b, k), Sse2.MultiplyAddAdjacent(*(Vector128<short>*)(p + OffMins), s32), -yd * d[1], q5);
    }

    /// <summary>The mins term: Q4_K accM = fma(dmin, (float)prod4, accM); Q5_K summs = fma(dmin, Σ prod4, summs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MinsK4(byte* p, float* m, Vector128<int> prod, float dmin, bool q5)
    {
        _ = p;
        if (q5)
        {
            int hs = prod.GetElement(0) + prod.GetElement(1) + prod.GetElement(2) + prod.GetElement(3);
            m[0] = MathF.FusedMultiplyAdd(dmin, hs, m[0]);
        }
        else
        {
            AccM(m, prod, dmin);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsK4_512(byte* prep, int rw, byte* ai, long aRowBytes, int bc, float* acc, bool q5)
    {
        int b = 0;
        for (; b + 2 <= bc; b += 2)
        {
            var y0 = (BlockQ8_K*)(ai + b * aRowBytes);
            var y1 = (BlockQ8_K*)((byte*)y0 + aRowBytes);
            sbyte* q0 = y0->Qs, q1 = y1->Qs;
            Vector512<sbyte> a0 = Vector512.Load(q0), a1 = Vector512.Load(q0 + 64), a2 = Vector512.Load(q0 + 128), a3 = Vector512.Load(q0 + 192);
            Vector512<sbyte> c0 = Vector512.Load(q1), c1 = Vector512.Load(q1 + 64), c2 = Vector512.Load(q1 + 128), c3 = Vector512.Load(q1 + 192);
            var s01 = Vector256.Create(Q8Sums32(y0), Q8Sums32(y1));
            var yd = Vector512.Create(Vector256.Create(y0->D), Vector256.Create(y1->D));
            var nyd = Vector256.Create(Vector128.Create(-y0->D), Vector128.Create(-y1->D));
            for (int k = 0; k < rw; k++)
            {
                byte* p = prep + k * RowPrep;
                var W = (Vector512<byte>*)(p + OffW);
                var S = (Vector512<short>*)(p + OffS);
                var w0 = W[0];
                var t0 = MulAdd(w0, a0, S[0]);
                var t1 = MulAdd(w0, c0, S[0]);
                var w1 = W[1];
                t0 += MulAdd(w1, a1, S[1]);
                t1 += MulAdd(w1, c1, S[1]);
                var w2 = W[2];
                t0 += MulAdd(w2, a2, S[2]);
                t1 += MulAdd(w2, c2, S[2]);
                var w3 = W[3];
                t0 += MulAdd(w3, a3, S[3]);
                t1 += MulAdd(w3, c3, S[3]);
                float* d = (float*)(p + OffD);
                Acc16(Acc8At(acc, b, k), Fold2(t0, t1), yd, d[0]);
                var mins = *(Vector128<short>*)(p + OffMins);
                var prod = Avx2.MultiplyAddAdjacent(Vector256.Create(mins, mins), s01);
                float* m = AccMAt(acc, b, k);
                if (q5)
                {
                    MinsK4(p, m, prod.GetLower(), -y0->D * d[1], q5: true);
                    MinsK4(p, m + 4, prod.GetUpper(), -y1->D * d[1], q5: true);
                }
                else
                {
                    Vector256.Store(Fma.MultiplyAdd(nyd * Vector256.Create(d[1]), Avx.ConvertToVector256Single(prod), Vector256.Load(m)), m);
                }
            }
        }
        if (b < bc)
        {
            var y0 = (BlockQ8_K*)(ai + b * aRowBytes);
            sbyte* q0 = y0->Qs;
            Vector512<sbyte> a0 = Vector512.Load(q0), a1 = Vector512.Load(q0 + 64), a2 = Vector512.Load(q0 + 128), a3 = Vector512.Load(q0 + 192);
            var s0 = Q8Sums32(y0);
            for (int k = 0; k < rw; k++)
            {
                byte* p = prep + k * RowPrep;
                var W = (Vector512<byte>*)(p + OffW);
                var S = (Vector512<short>*)(p + OffS);
                var t0 = MulAdd(W[0], a0, S[0]) + MulAdd(W[1], a1, S[1]) + MulAdd(W[2], a2, S[2]) + MulAdd(W[3], a3, S[3]);
                FinishK4(p, acc, b, k, t0.GetLower() + t0.GetUpper(), y0->D, s0, q5);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsK4_256(byte* prep, int rw, byte* ai, long aRowBytes, int bc, float* acc, bool q5)
    {
        for (int b = 0; b < bc; b++)
        {
            var y0 = (BlockQ8_K*)(ai + b * aRowBytes);
            sbyte* q = y0->Qs;
            var s0 = Q8Sums32(y0);
            for (int k = 0; k < rw; k++)
            {
                byte* p = prep + k * RowPrep;
                var W = (Vector256<byte>*)(p + OffW);
                var S = (Vector256<short>*)(p + OffS);
                var t = Vector256<int>.Zero;
                for (int s = 0; s < 8; s++) t = MulAdd(t, W[s], Vector256.Load(q + 32 * s), S[s]);
                FinishK4(p, acc, b, k, t, y0->D, s0, q5);
            }
        }
    }

    // ---- Q6_K -----------------------------------------------------------------------------------------------
    // Row dot, per super-block: chunk c (32 values, q8[32c..]) has scales s[2c] (lanes 0-3) and s[2c+1] (lanes 4-7);
    // sumi8 lane l = Σ_c scale·Σ_{t<4} (q6[32c+4l+t] − 32)·q8[32c+4l+t]. The tile multiplies the signed weights
    // (q6 − 32) with the activations offset to unsigned (q8 + 128) and subtracts the per-row constant
    // C = Σ_c scale·Σ 128·(q6 − 32), which is exact.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q6Quants(byte* ql, byte* qh, out Vector256<byte> q0, out Vector256<byte> q1, out Vector256<byte> q2, out Vector256<byte> q3)
    {
        var m4 = Vector256.Create((byte)0xF);
        var m3 = Vector256.Create((byte)3);
        var m32 = Vector256.Create((byte)32);
        var b1 = Vector256.Load(ql);
        var b2 = Vector256.Load(ql + 32);
        var h = Vector256.Load(qh);
        q0 = ((b1 & m4) | Vector256.ShiftLeft((h & m3).AsUInt16(), 4).AsByte()) - m32;
        q1 = ((b2 & m4) | Vector256.ShiftLeft((Vector256.ShiftRightLogical(h.AsUInt16(), 2).AsByte() & m3).AsUInt16(), 4).AsByte()) - m32;
        q2 = ((Vector256.ShiftRightLogical(b1.AsUInt16(), 4).AsByte() & m4)
            | Vector256.ShiftLeft((Vector256.ShiftRightLogical(h.AsUInt16(), 4).AsByte() & m3).AsUInt16(), 4).AsByte()) - m32;
        q3 = ((Vector256.ShiftRightLogical(b2.AsUInt16(), 4).AsByte() & m4)
            | Vector256.ShiftLeft((Vector256.ShiftRightLogical(h.AsUInt16(), 6).AsByte() & m3).AsUInt16(), 4).AsByte()) - m32;
    }

    /// <summary>512-bit unpack: W[p] = chunks 2p, 2p+1 (q6 − 32), S[p] = 8 × s[4p] | 8 × s[4p+1] | 8 × s[4p+2] | 8 × s[4p+3], C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PrepQ6_K512(BlockQ6_K* x, byte* p)
    {
        var W = (Vector512<byte>*)(p + OffW);
        for (int j = 0; j < 2; j++)
        {
            Q6Quants(x->Ql + 64 * j, x->Qh + 32 * j, out var q0, out var q1, out var q2, out var q3);
            W[2 * j] = Vector512.Create(q0, q1);
            W[2 * j + 1] = Vector512.Create(q2, q3);
        }
        var sc = Avx2.ConvertToVector256Int16(Vector128.Load(x->Scales)).ToVector512Unsafe();
        var idx = Vector512.Create(Vector256.Create(Vector128<short>.Zero, Vector128<short>.One),
            Vector256.Create(Vector128.Create((short)2), Vector128.Create((short)3)));
        var S = (Vector512<short>*)(p + OffS);
        var u128 = Vector512.Create((byte)0x80);
        var c = Vector512<int>.Zero;
        for (int q = 0; q < 4; q++)
        {
            S[q] = Avx512BW.PermuteVar32x16(sc, idx + Vector512.Create((short)(4 * q)));
            c += MulAdd(u128, W[q].AsSByte(), S[q]);
        }
        *(Vector512<int>*)(p + OffC) = c;
        ((float*)(p + OffD))[0] = Fp16.ToFloat(x->D);
    }

    /// <summary>256-bit unpack: W[c] = chunk c (q6 − 32), S[c] = 8 × s[2c] | 8 × s[2c+1], C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PrepQ6_K256(BlockQ6_K* x, byte* p)
    {
        var W = (Vector256<byte>*)(p + OffW);
        var S = (Vector256<short>*)(p + OffS);
        var u128 = Vector256.Create((byte)0x80);
        var c = Vector256<int>.Zero;
        for (int j = 0; j < 2; j++)
        {
            Q6Quants(x->Ql + 64 * j, x->Qh + 32 * j, out W[4 * j], out W[4 * j + 1], out W[4 * j + 2], out W[4 * j + 3]);
        }
        for (int k = 0; k < 8; k++)
        {
            S[k] = Vector256.Create(Vector128.Create((short)x->Scales[2 * k]), Vector128.Create((short)x->Scales[2 * k + 1]));
            c = MulAdd(c, u128, W[k].AsSByte(), S[k]);
        }
        *(Vector256<int>*)(p + OffC) = c;
        ((float*)(p + OffD))[0] = Fp16.ToFloat(x->D);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsQ6_K512(byte* prep, int rw, byte* ai, long aRowBytes, int bc, float* acc)
    {
        var u128 = Vector512.Create((byte)0x80);
        int b = 0;
        for (; b + 2 <= bc; b += 2)
        {
            var y0 = (BlockQ8_K*)(ai + b * aRowBytes);
            var y1 = (BlockQ8_K*)((byte*)y0 + aRowBytes);
            byte* q0 = (byte*)y0->Qs, q1 = (byte*)y1->Qs;
            Vector512<byte> a0 = Vector512.Load(q0) ^ u128, a1 = Vector512.Load(q0 + 64) ^ u128,
                a2 = Vector512.Load(q0 + 128) ^ u128, a3 = Vector512.Load(q0 + 192) ^ u128;
            Vector512<byte> c0 = Vector512.Load(q1) ^ u128, c1 = Vector512.Load(q1 + 64) ^ u128,
                c2 = Vector512.Load(q1 + 128) ^ u128, c3 = Vector512.Load(q1 + 192) ^ u128;
            var yd = Vector512.Create(Vector256.Create(y0->D), Vector256.Create(y1->D));
            for (int k = 0; k < rw; k++)
            {
                byte* p = prep + k * RowPrep;
                var W = (Vector512<sbyte>*)(p + OffW);
                var S = (Vector512<short>*)(p + OffS);
                var cc = *(Vector512<int>*)(p + OffC);
                var w0 = W[0];
                var t0 = MulAdd(a0, w0, S[0]) - cc;
                var t1 = MulAdd(c0, w0, S[0]) - cc;
                var w1 = W[1];
                t0 += MulAdd(a1, w1, S[1]);
                t1 += MulAdd(c1, w1, S[1]);
                var w2 = W[2];
                t0 += MulAdd(a2, w2, S[2]);
                t1 += MulAdd(c2, w2, S[2]);
                var w3 = W[3];
                t0 += MulAdd(a3, w3, S[3]);
                t1 += MulAdd(c3, w3, S[3]);
                Acc16(Acc8At(acc, b, k), Fold2(t0, t1), yd, *(float*)(p + OffD));
            }
        }
        if (b < bc)
        {
            var y0 = (BlockQ8_K*)(ai + b * aRowBytes);
            byte* q0 = (byte*)y0->Qs;
            Vector512<byte> a0 = Vector512.Load(q0) ^ u128, a1 = Vector512.Load(q0 + 64) ^ u128,
                a2 = Vector512.Load(q0 + 128) ^ u128, a3 = Vector512.Load(q0 + 192) ^ u128;
            for (int k = 0; k < rw; k++)
            {
                byte* p = prep + k * RowPrep;
                var W = (Vector512<sbyte>*)(p + OffW);
                var S = (Vector512<short>*)(p + OffS);
                var t0 = MulAdd(a0, W[0], S[0]) + MulAdd(a1, W[1], S[1]) + MulAdd(a2, W[2], S[2]) + MulAdd(a3, W[3], S[3])
                    - *(Vector512<int>*)(p + OffC);
                Acc8(Acc8At(acc, b, k), t0.GetLower() + t0.GetUpper(), y0->D * *(float*)(p + OffD));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsQ6_K256(byte* prep, int rw, byte* ai, long aRowBytes, int bc, float* acc)
    {
        var u128 = Vector256.Create((byte)0x80);
        for (int b = 0; b < bc; b++)
        {
            var y0 = (BlockQ8_K*)(ai + b * aRowBytes);
            byte* q = (byte*)y0->Qs;
            for (int k = 0; k < rw; k++)
            {
                byte* p = prep + k * RowPrep;
                var W = (Vector256<sbyte>*)(p + OffW);
                var S = (Vector256<short>*)(p + OffS);
                var t = Vector256<int>.Zero;
                for (int c = 0; c < 8; c++) t = MulAdd(t, Vector256.Load(q + 32 * c) ^ u128, W[c], S[c]);
                Acc8(Acc8At(acc, b, k), t - *(Vector256<int>*)(p + OffC), y0->D * *(float*)(p + OffD));
            }
        }
    }
}
