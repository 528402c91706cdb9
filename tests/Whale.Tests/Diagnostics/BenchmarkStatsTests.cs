using Whale.Diagnostics;

namespace Whale.Tests.Diagnostics;

public class BenchmarkStatsTests
{
    [Fact]
    public void MedianMeanAndStdDev()
    {
        var s = new BenchmarkStats([4, 1, 3, 2]);
        Assert.Equal(2.5, s.Median);
        Assert.Equal(2.5, s.Mean);
        Assert.Equal(Math.Sqrt(5.0 / 3), s.StdDev, 12);
        Assert.Equal(3, new BenchmarkStats([5, 3, 1]).Median);
        Assert.Equal(0, new BenchmarkStats([7]).StdDev);
    }

    [Fact]
    public void TestNamesFollowLlamaBench()
    {
        Assert.Equal("pp512", new BenchmarkTest(512, 0).Name);
        Assert.Equal("tg128", new BenchmarkTest(0, 128).Name);
        Assert.Equal("tg128 @ d4096", new BenchmarkTest(0, 128, 4096).Name);
    }

    [Fact]
    public void BandwidthProbeMeasuresSomething()
    {
        double bps = BandwidthProbe.Measure(1, 16L << 20, 1);
        Assert.True(bps > 1e8, $"{bps} B/s");
    }

    [Fact]
    public void TheProbesBufferIsLeftOutOfThePeak()
    {
        if (!OperatingSystem.IsLinux()) return;   // the peak can only be restarted on Linux
        long before = ProcessMemory.PeakRss();
        BandwidthProbe.Measure(1, 512L << 20, 1);
        long after = ProcessMemory.PeakRss();
        // without the restart the 512 MiB touched by the probe would stay in VmHWM (other tests may allocate meanwhile)
        Assert.True(after < before + (256L << 20), $"peak {before >> 20} MiB -> {after >> 20} MiB");
    }

    [Fact]
    public void PeakRssIsAtLeastCurrent()
    {
        Assert.True(ProcessMemory.PeakRss() >= ProcessMemory.CurrentRss() / 2);
        Assert.True(ProcessMemory.CurrentRss() > 0);
    }
}
