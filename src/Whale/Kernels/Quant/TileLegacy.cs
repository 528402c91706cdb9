using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

// Tiled Q4_0/Q5_0 × Q8_0 and Q4_1/Q5_1 × Q8_1 products (4 x 4 and 4 x 1 register tiles of 256-bit vectors),
// bit-identical to VecDot.Q4_0Q8_0 / Q5_0Q8_0 / Q4_1Q8_1 / Q5_1Q8_1: per 32-value block an 8-lane int32 sum of
// 4-byte products, converted to float, one FMA with the f32 product of the two scales into an 8-lane accumulator,
// blocks in order, then hsum_float_8 [+ the scalar Σ m·s chain of the _1 types]. The _0 types' signed products
// use the row dot's own sign trick (|w| · sign(a, w), ggml's mul_sum_i8_pairs), which is not the true product for an
// activation quant of −128 (quantize_row_q8_0 writes them for blocks with max |x| below ~3.7e-37), so these tiles
// agree with the row dot there too; |w| and w are formed once per weight block and shared by the 4 activation rows.
internal static unsafe class TileLegacy
{
    public static void MatMulQ4_0(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n, float* y, int yStride)
        => MatMul<Q4_0>(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride);

    public static void MatMulQ5_0(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n, float* y, int yStride)
        => MatMul<Q5_0>(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride);

    public static void MatMulQ4_1(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n, float* y, int yStride)
        => MatMul<Q4_1>(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride);

    public static void MatMulQ5_1(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n, float* y, int yStride)
        => MatMul<Q5_1>(w, rowBytes, r0, r1, a, aRowBytes, batch, n, y, yStride);

    /// <summary>One weight block type: its unsigned quants, scales and row dot (for the tiles' edges).</summary>
    private interface IBlock
    {
        static abstract int Bytes { get; }
        /// <summary>Signed quant = unsigned − Offset (0 for the _1 types, which pair with Q8_1).</summary>
        static abstract byte Offset { get; }
        static abstract Vector256<byte> Quants(byte* block);
        static abstract float D(byte* block);
        static abstract float M(byte* block);
        static abstract float RowDot(byte* w, byte* a, int n);
    }

    private readonly struct Q4_0 : IBlock
    {
        public static int Bytes => 18;
        public static byte Offset => 8;
        public static Vector256<byte> Quants(byte* b) => Nibbles32(b + 2);
        public static float D(byte* b) => Fp16.ToFloat(*(ushort*)b);
        public static float M(byte* b) => 0;
        public static float RowDot(byte* w, byte* a, int n) => VecDot.Q4_0Q8_0((BlockQ4_0*)w, (BlockQ8_0*)a, n);
    }

    private readonly struct Q5_0 : IBlock
    {
        public static int Bytes => 22;
        public static byte Offset => 16;
        public static Vector256<byte> Quants(byte* b) => Nibbles32(b + 6) | (BitsToBytes(Unsafe.ReadUnaligned<uint>(b + 2)) & Vector256.Create((byte)0x10));
        public static float D(byte* b) => Fp16.ToFloat(*(ushort*)b);
        public static float M(byte* b) => 0;
        public static float RowDot(byte* w, byte* a, int n) => VecDot.Q5_0Q8_0((BlockQ5_0*)w, (BlockQ8_0*)a, n);
    }

    private readonly struct Q4_1 : IBlock
    {
        public static int Bytes => 20;
        public static byte Offset => 0;
        public static Vector256<byte> Quants(byte* b) => Nibbles32(b + 4);
        public static float D(byte* b) => Fp16.ToFloat(*(ushort*)b);
        public static float M(byte* b) => Fp16.ToFloat(*(ushort*)(b + 2));
        public static float RowDot(byte* w, byte* a, int n) => VecDot.Q4_1Q8_1((BlockQ4_1*)w, (BlockQ8_1*)a, n);
    }

    private readonly struct Q5_1 : IBlock
    {
        public static int Bytes => 24;
        public static byte Offset => 0;
        public static Vector256<byte> Quants(byte* b) => Nibbles32(b + 8) | (BitsToBytes(Unsafe.ReadUnaligned<uint>(b + 4)) & Vector256.Create((byte)0x10));
        public static float D(byte* b) => Fp16.ToFloat(*(ushort*)b);
        public static float M(byte* b) => Fp16.ToFloat(*(ushort*)(b + 2));
        public static float RowDot(byte* w, byte* a, int n) => VecDot.Q5_1Q8_1((BlockQ5_1*)w, (BlockQ8_1*)a, n);
    }

    /// <summary>32 nibbles of 16 bytes: low nibbles in bytes 0-15, high nibbles in 16-31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Nibbles32(byte* p)
    {
        var v = Vector128.Load(p);
        var m = Vector128.Create((byte)0xF);
        return Vector256.Create(v & m, Vector128.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & m);
    }

    /// <summary>bytes_from_bits_32: byte i = 0xFF if bit i is set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> BitsToBytes(uint bits)
    {
        var shuf = Vector256.Create(0x0000000000000000UL, 0x0101010101010101UL, 0x0202020202020202UL,
            0x0303030303030303UL).AsByte();
        var bytes = Avx2.Shuffle(Vector256.Create(bits).AsByte(), shuf);
        var mask = Vector256.Create(0x7fbfdfeff7fbfdfeUL).AsByte();
        return Avx2.CompareEqual(bytes | mask, Vector256<byte>.AllBitsSet);
    }

    /// <summary>acc + lanes of Σ u8·s8 over 4 bytes (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot4(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s)
    {
        if (AvxVnni.IsSupported) return AvxVnni.MultiplyWideningAndAdd(acc, u, s);
        return acc + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), Vector256.Create((short)1));
    }

    /// <summary>Signed quants w = q − offset of the _0 types (the unsigned q of the _1 types).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Signed<T>(Vector256<byte> u) where T : IBlock
        => T.Offset == 0 ? u.AsSByte() : (u - Vector256.Create(T.Offset)).AsSByte();

    /// <summary>The left (unsigned) operand: |w| for the _0 types, q for the _1 types.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Left<T>(Vector256<sbyte> w) where T : IBlock
        => T.Offset == 0 ? w.AsByte() : Avx2.Sign(w, w).AsByte();

    /// <summary>The right (signed) operand: sign(a, w) for the _0 types, a for the _1 types.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Right<T>(Vector256<sbyte> x, Vector256<sbyte> w) where T : IBlock
        => T.Offset == 0 ? x : Avx2.Sign(x, w);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HSum(Vector256<float> v)
    {
        var s = v.GetLower() + v.GetUpper();
        return (s.GetElement(0) + s.GetElement(2)) + (s.GetElement(1) + s.GetElement(3));
    }

    /// <summary>Activation block layout: Q8_0 (d, qs) for the _0 types, Q8_1 (d, s, qs) for the _1 types.</summary>
    private static int ActBytes<T>() where T : IBlock => T.Offset != 0 ? 34 : 36;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MatMul<T>(byte* w, long rowBytes, int r0, int r1, byte* a, long aRowBytes, int batch, int n, float* y, int yStride)
        where T : IBlock
    {
        int nb = n / 32;
        int r = r0;
        for (; r + 4 <= r1; r += 4)
        {
            byte* w0 = w + r * rowBytes;
            int b = 0;
            for (; b + 4 <= batch; b += 4)
                Tile4x4<T>(w0, rowBytes, a + b * aRowBytes, aRowBytes, nb, y + (long)b * yStride + r, yStride);
            for (; b < batch; b++)
                Tile4x1<T>(w0, rowBytes, a + b * aRowBytes, nb, y + (long)b * yStride + r);
        }
        for (; r < r1; r++)
            for (int b = 0; b < batch; b++)
                y[(long)b * yStride + r] = T.RowDot(w + r * rowBytes, a + b * aRowBytes, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step<T>(Vector256<float> acc, Vector256<byte> left, Vector256<sbyte> w, Vector256<sbyte> x, float d)
        where T : IBlock
        => Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(Dot4(Vector256<int>.Zero, left, Right<T>(x, w))), acc);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x4<T>(byte* w, long rowBytes, byte* a, long aRowBytes, int nb, float* y, int yStride) where T : IBlock
    {
        int bb = T.Bytes, ab = ActBytes<T>(), qo = ab - 32;
        bool mins = T.Offset == 0;
        byte* w1 = w + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
        byte* a1 = a + aRowBytes, a2 = a1 + aRowBytes, a3 = a2 + aRowBytes;
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector256<float> c30 = default, c31 = default, c32 = default, c33 = default;
        // Σ m·s of the _1 types: lane k = weight row k, one vector per activation row (each lane its own chain)
        Vector128<float> s0 = default, s1 = default, s2 = default, s3 = default;
        for (int i = 0; i < nb; i++, w += bb, w1 += bb, w2 += bb, w3 += bb, a += ab, a1 += ab, a2 += ab, a3 += ab)
        {
            var q0 = Signed<T>(T.Quants(w)); var q1 = Signed<T>(T.Quants(w1)); var q2 = Signed<T>(T.Quants(w2)); var q3 = Signed<T>(T.Quants(w3));
            var u0 = Left<T>(q0); var u1 = Left<T>(q1); var u2 = Left<T>(q2); var u3 = Left<T>(q3);
            float d0 = T.D(w), d1 = T.D(w1), d2 = T.D(w2), d3 = T.D(w3);
            var m = mins ? Vector128.Create(T.M(w), T.M(w1), T.M(w2), T.M(w3)) : default;

            var x = Vector256.Load((sbyte*)(a + qo)); float da = Fp16.ToFloat(*(ushort*)a);
            c00 = Step<T>(c00, u0, q0, x, d0 * da); c10 = Step<T>(c10, u1, q1, x, d1 * da);
            c20 = Step<T>(c20, u2, q2, x, d2 * da); c30 = Step<T>(c30, u3, q3, x, d3 * da);
            if (mins) s0 = Fma.MultiplyAdd(m, Vector128.Create(Fp16.ToFloat(*(ushort*)(a + 2))), s0);

            x = Vector256.Load((sbyte*)(a1 + qo)); da = Fp16.ToFloat(*(ushort*)a1);
            c01 = Step<T>(c01, u0, q0, x, d0 * da); c11 = Step<T>(c11, u1, q1, x, d1 * da);
            c21 = Step<T>(c21, u2, q2, x, d2 * da); c31 = Step<T>(c31, u3, q3, x, d3 * da);
            if (mins) s1 = Fma.MultiplyAdd(m, Vector128.Create(Fp16.ToFloat(*(ushort*)(a1 + 2))), s1);

            x = Vector256.Load((sbyte*)(a2 + qo)); da = Fp16.ToFloat(*(ushort*)a2);
            c02 = Step<T>(c02, u0, q0, x, d0 * da); c12 = Step<T>(c12, u1, q1, x, d1 * da);
            c22 = Step<T>(c22, u2, q2, x, d2 * da); c32 = Step<T>(c32, u3, q3, x, d3 * da);
            if (mins) s2 = Fma.MultiplyAdd(m, Vector128.Create(Fp16.ToFloat(*(ushort*)(a2 + 2))), s2);

            x = Vector256.Load((sbyte*)(a3 + qo)); da = Fp16.ToFloat(*(ushort*)a3);
            c03 = Step<T>(c03, u0, q0, x, d0 * da); c13 = Step<T>(c13, u1, q1, x, d1 * da);
            c23 = Step<T>(c23, u2, q2, x, d2 * da); c33 = Step<T>(c33, u3, q3, x, d3 * da);
            if (mins) s3 = Fma.MultiplyAdd(m, Vector128.Create(Fp16.ToFloat(*(ushort*)(a3 + 2))), s3);
        }
        float* y1 = y + yStride, y2 = y1 + yStride, y3 = y2 + yStride;
        if (mins)
        {
            y[0] = HSum(c00) + s0.GetElement(0); y[1] = HSum(c10) + s0.GetElement(1); y[2] = HSum(c20) + s0.GetElement(2); y[3] = HSum(c30) + s0.GetElement(3);
            y1[0] = HSum(c01) + s1.GetElement(0); y1[1] = HSum(c11) + s1.GetElement(1); y1[2] = HSum(c21) + s1.GetElement(2); y1[3] = HSum(c31) + s1.GetElement(3);
            y2[0] = HSum(c02) + s2.GetElement(0); y2[1] = HSum(c12) + s2.GetElement(1); y2[2] = HSum(c22) + s2.GetElement(2); y2[3] = HSum(c32) + s2.GetElement(3);
            y3[0] = HSum(c03) + s3.GetElement(0); y3[1] = HSum(c13) + s3.GetElement(1); y3[2] = HSum(c23) + s3.GetElement(2); y3[3] = HSum(c33) + s3.GetElement(3);
            return;
        }
        y[0] = HSum(c00); y[1] = HSum(c10); y[2] = HSum(c20); y[3] = HSum(c30);
        y1[0] = HSum(c01); y1[1] = HSum(c11); y1[2] = HSum(c21); y1[3] = HSum(c31);
        y2[0] = HSum(c02); y2[1] = HSum(c12); y2[2] = HSum(c22); y2[3] = HSum(c32);
        y3[0] = HSum(c03); y3[1] = HSum(c13); y3[2] = HSum(c23); y3[3] = HSum(c33);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x1<T>(byte* w, long rowBytes, byte* a, int nb, float* y) where T : IBlock
    {
        int bb = T.Bytes, ab = ActBytes<T>(), qo = ab - 32;
        bool mins = T.Offset == 0;
        byte* w1 = w + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector128<float> s = default;
        for (int i = 0; i < nb; i++, w += bb, w1 += bb, w2 += bb, w3 += bb, a += ab)
        {
            var x = Vector256.Load((sbyte*)(a + qo)); float da = Fp16.ToFloat(*(ushort*)a);
            var q0 = Signed<T>(T.Quants(w)); var q1 = Signed<T>(T.Quants(w1)); var q2 = Signed<T>(T.Quants(w2)); var q3 = Signed<T>(T.Quants(w3));
            c0 = Step<T>(c0, Left<T>(q0), q0, x, T.D(w) * da);
            c1 = Step<T>(c1, Left<T>(q1), q1, x, T.D(w1) * da);
            c2 = Step<T>(c2, Left<T>(q2), q2, x, T.D(w2) * da);
            c3 = Step<T>(c3, Left<T>(q3), q3, x, T.D(w3) * da);
            if (mins) s = Fma.MultiplyAdd(Vector128.Create(T.M(w), T.M(w1), T.M(w2), T.M(w3)), Vector128.Create(Fp16.ToFloat(*(ushort*)(a + 2))), s);
        }
        if (mins)
        {
            y[0] = HSum(c0) + s.GetElement(0); y[1] = HSum(c1) + s.GetElement(1); y[2] = HSum(c2) + s.GetElement(2); y[3] = HSum(c3) + s.GetElement(3);
            return;
        }
        y[0] = HSum(c0); y[1] = HSum(c1); y[2] = HSum(c2); y[3] = HSum(c3);
    }
}
