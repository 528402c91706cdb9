using System.Runtime.CompilerServices;
using Whale.Gguf;
using Whale.Kernels.Quant;

namespace Whale.Tests.Kernels.Quant;

public class BlockLayoutTests
{
    [Fact]
    public void BlockSizesMatchGgml()
    {
        Assert.Equal(18, Unsafe.SizeOf<BlockQ4_0>());
        Assert.Equal(20, Unsafe.SizeOf<BlockQ4_1>());
        Assert.Equal(22, Unsafe.SizeOf<BlockQ5_0>());
        Assert.Equal(24, Unsafe.SizeOf<BlockQ5_1>());
        Assert.Equal(34, Unsafe.SizeOf<BlockQ8_0>());
        Assert.Equal(36, Unsafe.SizeOf<BlockQ8_1>());
        Assert.Equal(144, Unsafe.SizeOf<BlockQ4_K>());
        Assert.Equal(176, Unsafe.SizeOf<BlockQ5_K>());
        Assert.Equal(210, Unsafe.SizeOf<BlockQ6_K>());
        Assert.Equal(292, Unsafe.SizeOf<BlockQ8_K>());
    }

    [Fact]
    public void BlockSizesAgreeWithTypeTraits()
    {
        Assert.Equal(GgmlTypeTraits.BlockBytes(GgmlType.Q4_0), Unsafe.SizeOf<BlockQ4_0>());
        Assert.Equal(GgmlTypeTraits.BlockBytes(GgmlType.Q4_K), Unsafe.SizeOf<BlockQ4_K>());
        Assert.Equal(GgmlTypeTraits.BlockBytes(GgmlType.Q6_K), Unsafe.SizeOf<BlockQ6_K>());
        Assert.Equal(GgmlTypeTraits.BlockBytes(GgmlType.Q8_K), Unsafe.SizeOf<BlockQ8_K>());
    }
}
