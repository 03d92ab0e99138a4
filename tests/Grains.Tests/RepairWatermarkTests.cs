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

    [Fact]
    public void While_a_full_pass_is_due_an_incremental_one_can_still_read_from_the_last_clean_start()
    {
        var watermark = new RepairWatermark();
        Assert.Null(watermark.IncrementalFrom(Noon, Options));
        watermark.Record(Noon, full: true, complete: true, []);

        Assert.Null(watermark.ReadFrom(Noon.AddDays(2), Options));
        Assert.Equal(Noon - Options.ClockMargin, watermark.IncrementalFrom(Noon.AddDays(2), Options));
    }

    [Fact]
    public void A_full_pass_that_ends_after_an_incremental_one_beside_it_keeps_its_watermark_and_unsettled_states()
    {
        var (incremental, full) = (Guid.NewGuid(), Guid.NewGuid());
        var watermark = new RepairWatermark();
        watermark.Record(Noon, full: true, complete: true, []);
        // A full pass starts a day later; an incremental one starts an hour into it and ends first.
        var fullStart = Noon.AddDays(1);
        watermark.Record(fullStart.AddHours(1), full: false, complete: true, [incremental]);
        watermark.Record(fullStart, full: true, complete: true, [full], overlapped: true);

        Assert.Equal(fullStart.AddHours(1) - Options.ClockMargin, watermark.ReadFrom(fullStart.AddHours(2), Options));
        Assert.Equal(new[] { incremental, full }.Order(), watermark.Unsettled.Order());
        // The next full pass is due a day after the full one started, not after the incremental one.
        Assert.Null(watermark.ReadFrom(fullStart.AddDays(1), Options));
    }

    [Fact]
    public void An_incremental_pass_that_ends_after_a_full_one_beside_it_keeps_what_the_full_one_left_unsettled()
    {
        var (full, incremental) = (Guid.NewGuid(), Guid.NewGuid());
        var watermark = new RepairWatermark();
        watermark.Record(Noon, full: true, complete: true, []);
        var fullStart = Noon.AddDays(1);
        watermark.Record(fullStart, full: true, complete: true, [full]);
        watermark.Record(fullStart.AddHours(1), full: false, complete: true, [incremental], overlapped: true);

        Assert.Equal(fullStart.AddHours(1) - Options.ClockMargin, watermark.ReadFrom(fullStart.AddHours(2), Options));
        Assert.Equal(new[] { full, incremental }.Order(), watermark.Unsettled.Order());
    }

    [Fact]
    public void A_request_starts_a_due_full_pass_and_beside_a_running_one_an_incremental_pass()
    {
        var watermark = new RepairWatermark();
        watermark.Record(Noon, full: true, complete: true, []);
        var late = Noon.AddDays(2); // a full pass is due

        Assert.Equal(new RepairPassStart(Full: true, From: null), watermark.NextPass(late, Options, fullRunning: false, incrementalRunning: false));
        Assert.Equal(new RepairPassStart(Full: false, From: Noon - Options.ClockMargin), watermark.NextPass(late, Options, fullRunning: true, incrementalRunning: false));
        Assert.Null(watermark.NextPass(late, Options, fullRunning: true, incrementalRunning: true));
        // Not due: incremental, one at a time, whether or not a full pass runs.
        Assert.Equal(new RepairPassStart(Full: false, From: Noon - Options.ClockMargin), watermark.NextPass(Noon.AddHours(1), Options, fullRunning: false, incrementalRunning: false));
        Assert.Null(watermark.NextPass(Noon.AddHours(1), Options, fullRunning: false, incrementalRunning: true));
    }

    [Fact]
    public void Before_any_pass_completed_only_a_full_pass_can_start()
    {
        var watermark = new RepairWatermark();

        Assert.Equal(new RepairPassStart(Full: true, From: null), watermark.NextPass(Noon, Options, fullRunning: false, incrementalRunning: false));
        Assert.Null(watermark.NextPass(Noon, Options, fullRunning: true, incrementalRunning: false));
    }
}
