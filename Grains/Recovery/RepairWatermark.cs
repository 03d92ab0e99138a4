namespace Glance.Grains.Recovery;

/// <summary>
/// What the repair grain persists between passes (JSON through the "glance" storage: add, don't
/// rename). A crash leaves its traces only in states written after the last clean pass started (a
/// state written before that start was read by that pass), so a pass reads only those, and the ones
/// the last passes asked to repair (an upload given a lease settles later, without necessarily
/// writing its state again); every <see cref="RecoveryOptions.FullPassInterval"/> a pass reads all.
/// </summary>
public sealed class RepairWatermark
{
    /// <summary>Start of the last pass that read what it chose and failed nowhere (null: none yet).</summary>
    public DateTimeOffset? CleanSince { get; set; }

    /// <summary>Start of the last full pass that failed nowhere (null: none yet).</summary>
    public DateTimeOffset? FullSince { get; set; }

    /// <summary>States the passes since the last clean one asked to repair.</summary>
    public List<Guid> Unsettled { get; set; } = [];

    /// <summary>
    /// The time from which a pass starting <paramref name="now"/> reads states (less
    /// <see cref="RecoveryOptions.ClockMargin"/>, for the clocks and the index), or null for a full pass.
    /// </summary>
    public DateTimeOffset? ReadFrom(DateTimeOffset now, RecoveryOptions options) =>
        CleanSince is { } clean && FullSince is { } full && now - full < options.FullPassInterval
            ? clean - options.ClockMargin
            : null;

    /// <summary>Records a finished pass: a clean one moves the watermark; one with failures only adds what it repaired.</summary>
    public void Record(DateTimeOffset started, bool full, bool clean, IEnumerable<Guid> repaired)
    {
        if (!clean)
        {
            // The next pass reads at least what this one should have.
            Unsettled = [.. Unsettled.Union(repaired)];
            return;
        }
        CleanSince = started;
        FullSince = full ? started : FullSince;
        Unsettled = [.. repaired.Distinct()];
    }
}
