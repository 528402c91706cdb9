using System.Runtime.Intrinsics;
using Whale.Kernels;

namespace Whale.Tests.Kernels;

public unsafe class AttentionTests
{
    [Theory]
    [InlineData(128, 2, true)]
    [InlineData(128, 2, false)]
    [InlineData(64, 1, true)]
    [InlineData(64, 1, false)]
    [InlineData(192, 1, false)]   // three 64-value steps per K·q chain
    [InlineData(72, 3, true)]
    [InlineData(72, 3, false)]
    public void HeadMatchesScalarDefinitionBitForBit(int headDim, int kvHeads, bool batched)
    {
        var rng = new Random(headDim * 31 + kvHeads);
        int maxN = 150, kvDim = kvHeads * headDim, cap = Attention.Padded(maxN);
        var (k, v) = RandomCache(rng, maxN * kvDim);
        var kf = new float[kvDim * cap];
        var vt = new float[kvDim * cap];
        var q = new float[headDim];
        var o = new float[headDim];
        var expected = new float[headDim];
        var scratch = new float[cap + headDim];
        foreach (int n in new[] { 1, 2, 15, 16, 17, 63, 64, 65, 100, 128, 129, 150 })
        {
            for (int i = 0; i < q.Length; i++) q[i] = (float)(rng.NextDouble() * 6 - 3);
            vt.AsSpan().Fill(float.NaN);   // stale garbage must not leak through the padding
            fixed (Half* pk = k)
            fixed (Half* pv = v)
            fixed (float* pkf = kf)
            fixed (float* pvt = vt)
            fixed (float* pq = q)
            fixed (float* po = o)
            fixed (float* ps = scratch)
            {
                Attention.ConvertRows(pk, pv, kvHeads, headDim, 0, n, pkf, pvt, cap);
                Attention.ClearPadding(kvHeads, headDim, n, Attention.Padded(n), pvt, cap);
                for (int kvh = 0; kvh < kvHeads; kvh++)
                {
                    Attention.Head(pq, pkf + kvh * cap * headDim, pvt + kvh * headDim * cap, cap, n, headDim, headDim, 0.088f, batched, ps, ps + cap, po);
                    Attention.ReferenceHead(q, k, v, kvDim, kvh, headDim, n, 0.088f, batched, expected);
                    for (int d = 0; d < headDim; d++)
                        Assert.True(BitConverter.SingleToInt32Bits(expected[d]) == BitConverter.SingleToInt32Bits(o[d]),
                            $"n={n} kvh={kvh} d={d}: {o[d]} vs {expected[d]}");
                }
            }
        }
    }

    /// <summary>
    /// A GQA group's heads computed together equal <see cref="Attention.Head"/> per head, bit for bit: in batch order
    /// (<see cref="Attention.Heads"/>, tiles) and in one-token order (<see cref="Attention.HeadsVecDot"/>: scores in
    /// 64-position blocks, V rows against 3, 2 or 1 heads at a time).
    /// </summary>
    [Theory]
    [InlineData(64, 64, 2, true)]
    [InlineData(128, 128, 6, true)]
    [InlineData(128, 128, 4, true)]
    [InlineData(576, 512, 16, true)]    // absorbed MLA: keys are latent + rope (C + Dr), values the latent part (C)
    [InlineData(64, 64, 2, false)]
    [InlineData(128, 128, 6, false)]
    [InlineData(128, 128, 7, false)]    // V rows against 3 + 3 + 1 heads
    [InlineData(128, 128, 5, false)]    // 3 + 2
    [InlineData(192, 192, 1, false)]
    [InlineData(576, 512, 16, false)]
    public void HeadsOfAGroupMatchHeadBitForBit(int headDim, int valueDim, int nh, bool batched)
    {
        var rng = new Random(headDim + nh + (batched ? 0 : 1000));
        int maxN = 200, cap = Attention.Padded(maxN);
        var (k, v) = RandomCache(rng, maxN * headDim);
        var kf = new float[headDim * cap];
        var vt = new float[headDim * cap];
        var q = new float[nh * headDim];
        var o = new float[nh * valueDim];
        var expected = new float[valueDim];
        var scratch = new float[nh * (cap + headDim)];
        var one = new float[cap + headDim];
        foreach (int n in new[] { 1, 2, 16, 17, 64, 65, 100, 140, 191, 200 })
        {
            for (int i = 0; i < q.Length; i++) q[i] = (float)(rng.NextDouble() * 6 - 3);
            fixed (Half* pk = k)
            fixed (Half* pv = v)
            fixed (float* pkf = kf)
            fixed (float* pvt = vt)
            fixed (float* pq = q)
            fixed (float* po = o)
            fixed (float* ps = scratch)
            fixed (float* p1 = one)
            fixed (float* pe = expected)
            {
                Attention.ConvertRows(pk, pv, 1, headDim, 0, n, pkf, pvt, cap);
                Attention.ClearPadding(1, headDim, n, Attention.Padded(n), pvt, cap);
                bool done = batched
                    ? Attention.Heads(pq, pkf, pvt, cap, n, headDim, valueDim, 0.088f, nh, ps, po)
                    : Attention.HeadsVecDot(pq, pkf, pvt, cap, n, headDim, valueDim, 0.088f, nh, ps, po);
                if (!done)
                {
                    Assert.False(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, "AVX-512 machines take the grouped path");
                    return;
                }
                for (int h = 0; h < nh; h++)
                {
                    Attention.Head(pq + h * headDim, pkf, pvt, cap, n, headDim, valueDim, 0.088f, batched, p1, p1 + cap, pe);
                    for (int d = 0; d < valueDim; d++)
                        Assert.True(BitConverter.SingleToInt32Bits(expected[d]) == BitConverter.SingleToInt32Bits(o[h * valueDim + d]),
                            $"n={n} h={h} d={d}: {o[h * valueDim + d]} vs {expected[d]}");
                }
            }
        }
    }

    [Theory]
    [InlineData(0, 512, 12, 6, 2)]     // a prompt from position 0: later tokens cost more
    [InlineData(300, 17, 12, 6, 3)]
    [InlineData(0, 1, 14, 7, 2)]       // one token: whole groups, some worker may get nothing
    [InlineData(5, 40, 16, 1, 5)]
    [InlineData(0, 3, 4, 4, 8)]        // more workers than groups
    public void SplitCausalCoversEveryPairOnceAndBalancesCost(int start, int tokens, int heads, int group, int workers)
    {
        var positions = Enumerable.Range(start, tokens).ToArray();
        long Cost(int job) => positions[job / heads] + 1 + 64;
        long total = Enumerable.Range(0, tokens * heads).Sum(j => Cost(j));
        int next = 0;
        long maxGroupCost = (positions[^1] + 1 + 64L) * group;
        for (int w = 0; w < workers; w++)
        {
            var (s, e) = Attention.SplitCausal(positions, heads, group, w, workers);
            Assert.Equal(next, s);                                   // contiguous, in order, nothing skipped
            Assert.True(e >= s);
            Assert.True(s % heads % group == 0 || s == tokens * heads, $"boundary {s} splits a group");
            long cost = 0;
            for (int j = s; j < e; j++) cost += Cost(j);
            // within one group's cost of an even share (boundaries round up to whole groups)
            Assert.InRange(cost, total / workers - maxGroupCost - 1, total / workers + maxGroupCost + 1);
            next = e;
        }
        Assert.Equal(tokens * heads, next);
    }

    [Fact]
    public void SplitCausalGivesTheFirstWorkerMoreTokensOfACausalPrompt()
    {
        var positions = Enumerable.Range(0, 512).ToArray();
        var (s, e) = Attention.SplitCausal(positions, 12, 6, 0, 2);
        Assert.Equal(0, s);
        // an even split by count would end at token 256; by cost the first worker takes about 512/sqrt(2) tokens
        Assert.InRange(e / 12, 330, 380);
    }

    [Fact]
    public void VectorExpMatchesScalar()
    {
        if (!Vector512.IsHardwareAccelerated) return;
        var rng = new Random(5);
        var x = new float[16];
        for (int it = 0; it < 20000; it++)
        {
            for (int l = 0; l < 16; l++)
                x[l] = it < 10 ? new[] { 0f, -0f, -1e-30f, -87.3f, -88.8f, -103f, -150f, -200f, -1000f, float.NegativeInfinity }[it] - l
                    : (float)(rng.NextDouble() * 240 - 200);
            var y = Attention.Exp(Vector512.Create(x));
            for (int l = 0; l < 16; l++)
                Assert.Equal(BitConverter.SingleToInt32Bits(GgmlMath.Exp(x[l])), BitConverter.SingleToInt32Bits(y[l]));
        }
    }

    [Theory]
    [InlineData(16, 16, 16, 16)]
    [InlineData(64, 512, 576, 64)]    // MLA: the latent part of 576-wide rows into a padded transpose
    [InlineData(37, 50, 53, 40)]      // edges in both directions
    [InlineData(5, 3, 3, 5)]
    public unsafe void TransposeMovesEveryValue(int rows, int cols, int srcStride, int dstStride)
    {
        var rng = new Random(rows * 100 + cols);
        var src = new float[rows * srcStride];
        for (int i = 0; i < src.Length; i++) src[i] = (float)rng.NextDouble();
        var dst = new float[cols * dstStride];
        dst.AsSpan().Fill(float.NaN);
        fixed (float* ps = src)
        fixed (float* pd = dst)
            Attention.Transpose(ps, srcStride, pd, dstStride, rows, cols);
        for (int c = 0; c < cols; c++)
            for (int r = 0; r < dstStride; r++)
            {
                if (r < rows) Assert.Equal(src[r * srcStride + c], dst[c * dstStride + r]);
                else Assert.True(float.IsNaN(dst[c * dstStride + r]), $"({c}, {r}) past the rows was written");
            }
    }

    [Theory]
    [InlineData(2, 128, 0, 37)]     // two whole blocks of 16 and a partial one
    [InlineData(2, 64, 5, 40)]      // blocks that start off a multiple of 16
    [InlineData(1, 576, 16, 48)]    // MLA's latent + rope row as one head
    [InlineData(3, 72, 3, 4)]
    public void ConvertRowsWritesKRowsAndTransposedV(int kvHeads, int headDim, int j0, int j1)
    {
        var rng = new Random(kvHeads * 1000 + headDim + j0);
        int kvDim = kvHeads * headDim, cap = Attention.Padded(j1);
        var (k, v) = RandomCache(rng, j1 * kvDim);
        var kf = new float[kvDim * cap];
        var vt = new float[kvDim * cap];
        kf.AsSpan().Fill(float.NaN);
        vt.AsSpan().Fill(float.NaN);
        fixed (Half* pk = k)
        fixed (Half* pv = v)
        fixed (float* pkf = kf)
        fixed (float* pvt = vt)
            Attention.ConvertRows(pk, pv, kvHeads, headDim, j0, j1, pkf, pvt, cap);
        for (int h = 0; h < kvHeads; h++)
            for (int j = 0; j < cap; j++)
                for (int d = 0; d < headDim; d++)
                {
                    bool inRange = j >= j0 && j < j1;
                    float kExpected = inRange ? (float)k[j * kvDim + h * headDim + d] : float.NaN;
                    float vExpected = inRange ? (float)v[j * kvDim + h * headDim + d] : float.NaN;
                    Assert.Equal(kExpected, kf[(h * cap + j) * headDim + d]);
                    Assert.Equal(vExpected, vt[(h * headDim + d) * cap + j]);
                }
    }

    [Fact]
    public void RoundToHalfOfAnArrayMatchesHalfCastForEveryFloatClass()
    {
        var rng = new Random(21);
        var values = new List<float> { 0f, -0f, 65504f, 65519.99f, 65520f, -65520f, 1e9f, -1e9f, float.PositiveInfinity, float.NegativeInfinity, float.NaN };
        for (int h = 0; h < 0x7C00; h += 7)
        {
            float a = (float)BitConverter.UInt16BitsToHalf((ushort)h), b = (float)BitConverter.UInt16BitsToHalf((ushort)(h + 1));
            values.AddRange([a, -a, (a + b) / 2, -(a + b) / 2]);   // ties round to even
        }
        for (int i = 0; i < 20000; i++) values.Add((float)((rng.NextDouble() * 2 - 1) * Math.Pow(2, rng.Next(-30, 20))));
        var src = values.ToArray();
        var dst = new float[src.Length];
        fixed (float* ps = src)
        fixed (float* pd = dst)
            Attention.RoundToHalf(ps, pd, src.Length);   // several chunks and a partial one
        for (int i = 0; i < src.Length; i++)
        {
            float expected = (float)(Half)src[i];
            Assert.True(float.IsNaN(expected) ? float.IsNaN(dst[i]) : BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(dst[i]),
                $"{src[i]:R}: {dst[i]:R} vs {expected:R}");
        }
    }

    [Fact]
    public void RoundToHalfMatchesHalfCast()
    {
        if (!Vector512.IsHardwareAccelerated) return;
        var rng = new Random(9);
        var x = new float[16];
        // every F16 value, its neighbours and the midpoints between consecutive values, plus random values
        var values = new List<float>();
        for (int h = 0; h < 0x7C00; h++)
        {
            float a = (float)BitConverter.UInt16BitsToHalf((ushort)h), b = (float)BitConverter.UInt16BitsToHalf((ushort)(h + 1));
            float mid = (a + b) / 2;
            values.AddRange([a, mid, BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(mid) + 1), mid > 0 ? BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(mid) - 1) : 0]);
        }
        for (int i = 0; i < 100000; i++) values.Add((float)rng.NextDouble() * MathF.Pow(2, -rng.Next(0, 30)));
        values.RemoveAll(f => !(f < 65504));
        for (int i = 0; i + 16 <= values.Count; i += 16)
        {
            values.CopyTo(i, x, 0, 16);
            var y = Attention.RoundToHalf(Vector512.Create(x));
            for (int l = 0; l < 16; l++)
                Assert.True(BitConverter.SingleToInt32Bits((float)(Half)x[l]) == BitConverter.SingleToInt32Bits(y[l]), $"{x[l]:R}: {y[l]:R} vs {(float)(Half)x[l]:R}");
        }
    }

    /// <summary>Random F16 cache rows: K in [-2, 2), V in [-1, 1).</summary>
    private static (Half[] K, Half[] V) RandomCache(Random rng, int values)
    {
        var k = new Half[values];
        var v = new Half[values];
        for (int i = 0; i < values; i++) { k[i] = (Half)(rng.NextDouble() * 4 - 2); v[i] = (Half)(rng.NextDouble() * 2 - 1); }
        return (k, v);
    }
}
