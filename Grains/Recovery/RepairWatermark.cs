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
        CleanSince is { } clean && FullSince is { } full && now - full < options.FullPassInterval
            // Recorded by another silo's clock, which may run ahead of this one's.
            ? (clean < now ? clean : now) - options.ClockMargin
            : null;

    /// <summary>
    /// Records a finished pass: a complete one (it went through every state it chose) moves the
    /// watermark and keeps what it left unsettled; one that stopped early only adds to that.
    /// </summary>
    public void Record(DateTimeOffset started, bool full, bool complete, IEnumerable<Guid> unsettled)
    {
        if (!complete)
        {
            // The next pass reads at least what this one should have.
            Unsettled = [.. Unsettled.Union(unsettled)];
            return;
        }
        CleanSince = started;
        FullSince = full ? started : FullSince;
        Unsettled = [.. unsettled.Distinct()];
    }
}
