using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Whale.Kernels.Quant;

/// <summary>
/// Q8_0 weights repacked at load (<see cref="Q8_0Repacked"/>) × Q8_0 activations, for every batch size (decode,
/// continuous batching, prefill), in the <em>row-lane order</em> of <see cref="ReferenceDot.Q8_0Q8_0RowLane"/>: per
/// 32-value block the exact integer sum Σ w·a, converted to f32 and added with one FMA times the f32 product dw·da
/// to a single f32 accumulator, blocks in order. That is ggml's generic (scalar) order with the multiply-add fused,
/// not the 8-lane order of its AVX2 <c>vec_dot_q8_0_q8_0</c> that <see cref="TileQ8_0Avx512"/> reproduces; results
/// differ from llama.cpp's by float rounding only (the weights read in place, <c>WHALE_REPACK=0</c>, keep
/// llama.cpp's bits).
/// <para>
/// Why this order: each 256-bit register holds one 4-byte slice of 8 weight rows (the repacked layout), so one
/// AVX-VNNI <c>vpdpbusd</c> with a broadcast activation dword advances 8 outputs by 4 products, and a block's 8 such
/// instructions leave the 8 rows' complete integer sums in the 8 lanes: one convert, one scale multiply and one FMA
/// then serve 8 outputs. ggml's AVX2 order needs those three float operations per output and block (its lanes are
/// parts of one output), which made the tiles compute-bound at about a third of the VNNI rate; here the VNNI
/// instructions are 8 of every 12 vector operations (a block's 8 are two chains of 4, added, to halve the latency).
/// </para>
/// <para>
/// Exact integer part: the weights are stored offset to unsigned (⊕ 0x80) and each block's accumulator starts at
/// −128·Σa, so <c>vpdpbusd</c> (no saturation) yields Σ w·a for every activation quant, −128 included. Every output
/// is computed the same way whatever the batch, the row range or the thread split, so a sequence's results do not
/// depend on what it was batched with.
/// </para>
/// </summary>
internal static unsafe class TileQ8_0Repacked
{
    /// <summary>Activation rows per register tile (and per prepared tile).</summary>
    private const int ColTile = 8;

    /// <summary>
    /// Bytes of one block of a prepared tile: the quants of its <see cref="ColTile"/> activation rows (32 each), then
    /// their int32 corrections −128·Σa, then their f32 scales. A tile's blocks follow each other, so a register tile
    /// finds everything of block i at constant offsets from one pointer.
    /// </summary>
    private const int TileBlockBytes = ColTile * (32 + 4 + 4);

    /// <summary>True when this kernel can run (AVX-512 F/VL for 32 registers and EVEX forms, AVX-VNNI, FMA).</summary>
    public static bool IsSupported => Avx512F.VL.IsSupported && AvxVnni.IsSupported && Fma.IsSupported;

    /// <summary>
    /// y[b * yStride + r] = dot(W[r], A[b]) for r in [r0, r1), b in [0, batch): A rows of <paramref name="aRowBytes"/>
    /// bytes of ggml Q8_0 blocks at <paramref name="a"/>. Any row range works; groups cut by the range (or padded at
    /// the end of the matrix) are computed into a scratch tile and only their rows in range stored. Uses the
    /// thread's <see cref="TileScratch"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MatMul(Q8_0Repacked w, int r0, int r1, byte* a, long aRowBytes, int batch, float* y, int yStride)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (r0 >= r1 || batch <= 0) return;
        const int G = Q8_0Repacked.GroupRows;
        int nb = w.Blocks;
        long tileBytes = (long)nb * TileBlockBytes;
        int fitTiles = (int)Math.Max(1, RepackedMatrix.ChunkBytes / tileBytes);
        int chunk = Math.Min(batch, fitTiles * ColTile);
        int tiles = (chunk + ColTile - 1) / ColTile;
        long dwBytes = (long)nb * G * 4, outBytes = (long)chunk * G * 4;
        byte* scratch = TileScratch.Get(tiles * tileBytes + dwBytes + outBytes);
        float* dw = (float*)(scratch + tiles * tileBytes);
        float* tile = dw + nb * G;
        int g0 = r0 / G, g1 = (r1 + G - 1) / G;
        for (int c0 = 0; c0 < batch; c0 += chunk)
        {
            int cn = Math.Min(chunk, batch - c0);
            Prepare(a + c0 * aRowBytes, aRowBytes, cn, nb, scratch);
            float* yc = y + (long)c0 * yStride;
            for (int g = g0; g < g1; g++)
            {
                float* o = RepackedMatrix.GroupOutput(g, r0, r1, yc, yStride, tile, out int oStride);
                if (cn <= ColTile)
                {
                    // one pass over the group: its F16 scales converted as they stream by
                    Cols<Half>(w.Quants(g), w.Scales(g), scratch, nb, cn, o, oStride);
                }
                else
                {
                    // several passes: the scales converted once
                    ushort* h = w.Scales(g);
                    for (int i = 0; i < nb; i++) Fp16.FiniteToFloat8(Vector128.Load((short*)h + i * G)).Store(dw + i * G);
                    Cols<Single>(w.Quants(g), dw, scratch, nb, cn, o, oStride);
                }
                RepackedMatrix.StorePartial(g, r0, r1, tile, cn, yc, yStride);
            }
        }
    }

    /// <summary>
    /// Prepares <paramref name="batch"/> activation rows as tiles of <see cref="ColTile"/> (see
    /// <see cref="TileBlockBytes"/>): per block the quants (aligned copy), corr = −128·Σa and da = the f32 scale.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Prepare(byte* a, long aRowBytes, int batch, int nb, byte* dst)
    {
        var offset = Vector256.Create((byte)0x80);
        long tileBytes = (long)nb * TileBlockBytes;
        for (int b = 0; b < batch; b++)
        {
            var blk = (BlockQ8_0*)(a + b * aRowBytes);
            int c = b % ColTile;
            byte* t = dst + b / ColTile * tileBytes;
            for (int i = 0; i < nb; i++, blk++, t += TileBlockBytes)
            {
                var q = Vector256.Load(blk->Qs).AsSByte();
                q.Store((sbyte*)(t + c * 32));
                ((int*)(t + ColTile * 32))[c] = -Vector256.Sum(AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, offset, q));
                ((float*)(t + ColTile * 36))[c] = Fp16.ToFloat(blk->D);
            }
        }
    }

    /// <summary>One row group (8 weight rows) against every prepared activation row, a prepared tile at a time.</summary>
    private static void Cols<TS>(byte* u, void* scales, byte* prepared, int nb, int batch, float* y, int yStride)
        where TS : struct, IScales
    {
        long tileBytes = (long)nb * TileBlockBytes;
        int b = 0;
        for (; b + ColTile <= batch; b += ColTile, prepared += tileBytes)
            Tile<TileCount.Eight, TS>(u, scales, prepared, nb, y + (long)b * yStride, yStride);
        float* o = y + (long)b * yStride;
        switch (batch - b)
        {
            case 7: Tile<TileCount.Seven, TS>(u, scales, prepared, nb, o, yStride); break;
            case 6: Tile<TileCount.Six, TS>(u, scales, prepared, nb, o, yStride); break;
            case 5: Tile<TileCount.Five, TS>(u, scales, prepared, nb, o, yStride); break;
            case 4: Tile<TileCount.Four, TS>(u, scales, prepared, nb, o, yStride); break;
            case 3: Tile<TileCount.Three, TS>(u, scales, prepared, nb, o, yStride); break;
            case 2: Tile<TileCount.Two, TS>(u, scales, prepared, nb, o, yStride); break;
            case 1: Tile<TileCount.One, TS>(u, scales, prepared, nb, o, yStride); break;
        }
    }

    /// <summary>
    /// The integer sums of one block for 8 rows (lane r = row r) against activation row <paramref name="c"/> of a
    /// prepared tile block <paramref name="t"/>, scaled and added: f + f32(corr + Σ_k vpdpbusd(w_k, a[4k..4k+3])) · sw·da.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Block(Vector256<float> f, Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7, byte* t, int c, Vector256<float> sw)
    {
        int* aq = (int*)(t + c * 32);
        var acc = Vector256.Create(*(int*)(t + ColTile * 32 + c * 4));
        var acc2 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, w4, Vector256.Create(aq[4]).AsSByte());
        acc = AvxVnni.MultiplyWideningAndAdd(acc, w0, Vector256.Create(aq[0]).AsSByte());
        acc2 = AvxVnni.MultiplyWideningAndAdd(acc2, w5, Vector256.Create(aq[5]).AsSByte());
        acc = AvxVnni.MultiplyWideningAndAdd(acc, w1, Vector256.Create(aq[1]).AsSByte());
        acc2 = AvxVnni.MultiplyWideningAndAdd(acc2, w6, Vector256.Create(aq[6]).AsSByte());
        acc = AvxVnni.MultiplyWideningAndAdd(acc, w2, Vector256.Create(aq[2]).AsSByte());
        acc2 = AvxVnni.MultiplyWideningAndAdd(acc2, w7, Vector256.Create(aq[7]).AsSByte());
        acc = AvxVnni.MultiplyWideningAndAdd(acc, w3, Vector256.Create(aq[3]).AsSByte());
        acc += acc2;
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(acc), sw * Vector256.Create(*(float*)(t + ColTile * 36 + c * 4)), f);
    }

    /// <summary>
    /// 8 weight rows (one group: block i's 8 slices at u + 256·i) × TC.N activation rows (1..8) of the prepared tile
    /// <paramref name="t"/>; output b's 8 values stored at y + b·yStride.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TC, TS>(byte* u, void* scales, byte* t, int nb, float* y, int yStride)
        where TC : struct, TileCount.ICount
        where TS : struct, IScales
    {
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default, f4 = default, f5 = default, f6 = default, f7 = default;
        for (int i = 0; i < nb; i++, u += 256, t += TileBlockBytes)
        {
            // the group is one sequential stream: ask for a block's 4 lines 16 KB ahead into L2 and 4 KB ahead into L1
            byte* pf = u + RepackedMatrix.PrefetchBytes;
            Sse.Prefetch1(pf); Sse.Prefetch1(pf + 64); Sse.Prefetch1(pf + 128); Sse.Prefetch1(pf + 192);
            pf = u + RepackedMatrix.L1PrefetchBytes;
            Sse.Prefetch0(pf); Sse.Prefetch0(pf + 64); Sse.Prefetch0(pf + 128); Sse.Prefetch0(pf + 192);
            var sw = TS.Load(scales, i);
            var w0 = Vector256.LoadAligned(u); var w1 = Vector256.LoadAligned(u + 32);
            var w2 = Vector256.LoadAligned(u + 64); var w3 = Vector256.LoadAligned(u + 96);
            var w4 = Vector256.LoadAligned(u + 128); var w5 = Vector256.LoadAligned(u + 160);
            var w6 = Vector256.LoadAligned(u + 192); var w7 = Vector256.LoadAligned(u + 224);
            f0 = Block(f0, w0, w1, w2, w3, w4, w5, w6, w7, t, 0, sw);
            if (TC.N > 1) f1 = Block(f1, w0, w1, w2, w3, w4, w5, w6, w7, t, 1, sw);
            if (TC.N > 2) f2 = Block(f2, w0, w1, w2, w3, w4, w5, w6, w7, t, 2, sw);
            if (TC.N > 3) f3 = Block(f3, w0, w1, w2, w3, w4, w5, w6, w7, t, 3, sw);
            if (TC.N > 4) f4 = Block(f4, w0, w1, w2, w3, w4, w5, w6, w7, t, 4, sw);
            if (TC.N > 5) f5 = Block(f5, w0, w1, w2, w3, w4, w5, w6, w7, t, 5, sw);
            if (TC.N > 6) f6 = Block(f6, w0, w1, w2, w3, w4, w5, w6, w7, t, 6, sw);
            if (TC.N > 7) f7 = Block(f7, w0, w1, w2, w3, w4, w5, w6, w7, t, 7, sw);
        }
        TileCount.Store<TC>(y, yStride, f0, f1, f2, f3, f4, f5, f6, f7);
    }

    /// <summary>Where a tile reads the 8 rows' scales of block i: the group's F16 scales (finite: checked by <see cref="Q8_0Repacked.Create"/>), or f32 converted beforehand.</summary>
    private interface IScales
    {
        static abstract Vector256<float> Load(void* scales, int i);
    }

    private struct Half : IScales
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(void* scales, int i) => Fp16.FiniteToFloat8(Vector128.Load((short*)scales + i * 8));
    }

    private struct Single : IScales
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load(void* scales, int i) => Vector256.Load((float*)scales + i * 8);
    }
}
