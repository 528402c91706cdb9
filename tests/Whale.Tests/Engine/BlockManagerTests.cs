using Whale.Engine.Scheduling;

namespace Whale.Tests.Engine;

public class BlockManagerTests
{
    [Fact]
    public void AFreedBlockStaysCachedUntilItIsTheLeastRecentlyUsedOneAndIsReallocated()
    {
        var bm = new BlockManager(numBlocks: 3, blockSize: 2);
        int[] tokens = [1, 2, 3, 4];
        int a = bm.Allocate(), b = bm.Allocate();
        long h1 = BlockManager.Hash(0, tokens, 0, 2, null);
        long h2 = BlockManager.Hash(h1, tokens, 2, 2, null);
        Assert.True(bm.Register(a, h1, tokens, 0, null));
        Assert.True(bm.Register(b, h2, tokens, 2, null));
        Assert.Equal(1, bm.FreeBlocks);
        bm.Release(b);
        bm.Release(a);
        Assert.Equal(3, bm.FreeBlocks);
        Assert.Equal(2, bm.CachedBlocks);

        var match = new List<int>();
        bm.MatchPrefix([1, 2, 3, 4, 5], 2, null, match);
        Assert.Equal([a, b], match);
        match.Clear();
        bm.MatchPrefix([1, 2, 3, 4], 2, "other user", match);
        Assert.Empty(match);
        match.Clear();
        bm.MatchPrefix([1, 2, 9, 9], 2, null, match);
        Assert.Equal([a], match);

        // The never-hashed block goes first, then b (freed before a), then a.
        int c = bm.Allocate();
        Assert.NotEqual(a, c);
        Assert.NotEqual(b, c);
        Assert.Equal(b, bm.Allocate());
        Assert.Equal(1, bm.CachedBlocks);
        match.Clear();
        bm.MatchPrefix(tokens, 2, null, match);
        Assert.Equal([a], match);
        bm.Acquire(a);
        Assert.Equal(0, bm.FreeBlocks);
        Assert.Equal(1, bm.RefCount(a));
        Assert.Throws<InvalidOperationException>(() => bm.Allocate());
        bm.Release(a);
        Assert.Throws<InvalidOperationException>(() => bm.Release(a));
    }
}
