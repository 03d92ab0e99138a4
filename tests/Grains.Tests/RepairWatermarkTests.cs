using Glance.Grains.Recovery;

namespace Glance.Grains.Tests;

/// <summary>
/// Which states the azure profile's repair pass reads, from what the last passes stored: all of them
/// without a record or when the last full pass is too old, otherwise those written since the last
/// complete pass (less the clock margin). The pass itself runs on real silos in Cluster.Tests' RepairClusterTests.
/// </summary>
public sealed class RepairWatermarkTests
{
    private static readonly DateTimeOffset Noon = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly RecoveryOptions Options = new() { ClockMargin = TimeSpan.FromMinutes(5), FullPassInterval = TimeSpan.FromDays(1) };

    [Fact]
    public void Without_a_stored_pass_the_next_one_is_full()
    {
        Assert.Null(new RepairWatermark().ReadFrom(Noon, Options));
    }

    [Fact]
    public void After_a_clean_full_pass_the_next_reads_from_its_start_less_the_margin()
    {
        var watermark = new RepairWatermark();
        watermark.Record(Noon, full: true, complete: true, []);

        Assert.Equal(Noon - Options.ClockMargin, watermark.ReadFrom(Noon.AddHours(1), Options));
    }

    [Fact]
    public void A_clean_incremental_pass_moves_the_start_but_not_the_last_full_pass()
    {
        var watermark = new RepairWatermark();
        watermark.Record(Noon, full: true, complete: true, []);
        watermark.Record(Noon.AddHours(20), full: false, complete: true, []);

        Assert.Equal(Noon.AddHours(20) - Options.ClockMargin, watermark.ReadFrom(Noon.AddHours(23), Options));
        // A day after the full pass the next one reads everything again.
        Assert.Null(watermark.ReadFrom(Noon.AddDays(1), Options));
    }

    [Fact]
    public void A_pass_that_stopped_early_keeps_the_watermark_and_adds_what_it_left_unsettled()
    {
        var (first, second) = (Guid.NewGuid(), Guid.NewGuid());
        var watermark = new RepairWatermark();
        watermark.Record(Noon, full: true, complete: true, [first]);
        watermark.Record(Noon.AddHours(1), full: false, complete: false, [second]);

        Assert.Equal(Noon - Options.ClockMargin, watermark.ReadFrom(Noon.AddHours(2), Options));
        Assert.Equal(new[] { first, second }.Order(), watermark.Unsettled.Order());

        // The next complete pass keeps only what it left unsettled itself.
        watermark.Record(Noon.AddHours(2), full: false, complete: true, [second]);
        Assert.Equal([second], watermark.Unsettled);
    }

    [Fact]
    public void A_full_pass_that_stopped_early_leaves_the_next_pass_full()
    {
        var watermark = new RepairWatermark();
        watermark.Record(Noon, full: true, complete: false, []);

        Assert.Null(watermark.ReadFrom(Noon.AddMinutes(1), Options));
    }

    [Fact]
    public void A_watermark_another_silos_clock_put_in_the_future_reads_from_now()
    {
        var watermark = new RepairWatermark();
        watermark.Record(Noon.AddMinutes(30), full: true, complete: true, []);

        Assert.Equal(Noon - Options.ClockMargin, watermark.ReadFrom(Noon, Options));
    }

    [Fact]
    public void A_zero_interval_makes_every_pass_full()
    {
        var watermark = new RepairWatermark();
        watermark.Record(Noon, full: true, complete: true, []);

        Assert.Null(watermark.ReadFrom(Noon, new RecoveryOptions { FullPassInterval = TimeSpan.Zero }));
    }
}
