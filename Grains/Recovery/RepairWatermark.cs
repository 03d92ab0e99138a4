namespace Glance.Grains.Recovery;

/// <summary>
/// What the repair grain persists between passes (JSON through the "glance" storage: add, don't
/// rename). A crash leaves its traces only in states written after the last complete pass started
/// (a state written before that start was read by that pass), so a pass reads only those, and the
/// ones the last passes asked to repair or failed on (an upload given a lease settles later, without
/// necessarily writing its state again); every <see cref="RecoveryOptions.FullPassInterval"/> a pass
/// reads all (the net for states written by other means: a restore, a writer that does not tag).
/// </summary>
public sealed class RepairWatermark
{
    /// <summary>Start of the last pass that went through every state it chose (null: none yet).</summary>
    public DateTimeOffset? CleanSince { get; set; }

    /// <summary>Start of the last complete full pass (null: none yet).</summary>
    public DateTimeOffset? FullSince { get; set; }

    /// <summary>States the passes since the last complete one asked to repair or failed on.</summary>
    public List<Guid> Unsettled { get; set; } = [];

    /// <summary>
    /// The time from which a pass starting <paramref name="now"/> reads states (less
    /// <see cref="RecoveryOptions.ClockMargin"/>, for the clocks and the index), or null for a full pass.
    /// </summary>
    public DateTimeOffset? ReadFrom(DateTimeOffset now, RecoveryOptions options) =>
        FullSince is { } full && now - full < options.FullPassInterval ? IncrementalFrom(now, options) : null;

    /// <summary>
    /// The time from which an incremental pass starting <paramref name="now"/> reads states, whether
    /// or not a full one is due (null: no pass has completed, so only a full pass can start).
    /// </summary>
    public DateTimeOffset? IncrementalFrom(DateTimeOffset now, RecoveryOptions options) =>
        // Recorded by another silo's clock, which may run ahead of this one's.
        CleanSince is { } clean ? (clean < now ? clean : now) - options.ClockMargin : null;

    /// <summary>
    /// The pass a request at <paramref name="now"/> starts: a full one when one is due and none runs;
    /// otherwise an incremental one, beside a running full one too (a full pass takes hours at 10^7
    /// images, and a silo's death should not wait for it), unless one already runs or no pass has
    /// completed yet; null for none.
    /// </summary>
    public RepairPassStart? NextPass(DateTimeOffset now, RecoveryOptions options, bool fullRunning, bool incrementalRunning) =>
        ReadFrom(now, options) is null && !fullRunning ? new RepairPassStart(Full: true, From: null)
        : !incrementalRunning && IncrementalFrom(now, options) is { } from ? new RepairPassStart(Full: false, From: from)
        : null;

    /// <summary>
    /// Records a finished pass: a complete one (it went through every state it chose) moves the
    /// watermark and keeps what it left unsettled; one that stopped early only adds to that. A pass
    /// that <paramref name="overlapped"/> another one's record (a full pass and an incremental one run
    /// side by side) keeps what that one left unsettled too, and never moves the watermark back.
    /// </summary>
    public void Record(DateTimeOffset started, bool full, bool complete, IEnumerable<Guid> unsettled, bool overlapped = false)
    {
        if (!complete)
        {
            // The next pass reads at least what this one should have.
            Unsettled = [.. Unsettled.Union(unsettled)];
            return;
        }
        CleanSince = overlapped && CleanSince > started ? CleanSince : started;
        FullSince = full ? started : FullSince;
        // The other pass's unsettled states were found after this one read them, or not read by it at all.
        Unsettled = overlapped ? [.. Unsettled.Union(unsettled)] : [.. unsettled.Distinct()];
    }
}

/// <summary>A pass to start: full (every state), or incremental from <see cref="From"/>.</summary>
public readonly record struct RepairPassStart(bool Full, DateTimeOffset? From);
