namespace Glance.Grains.Recovery;

/// <summary>The azure profile's cluster repair, bound from <c>Glance:Recovery</c>.</summary>
public sealed class RecoveryOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Glance:Recovery";

    /// <summary>Time between two passes the reminder asks for (default one hour).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A pass asked for sooner than this after the last one is skipped (silos starting together ask once).</summary>
    public TimeSpan MinimumGap { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How far before the last complete pass's start an incremental pass still reads states. It
    /// covers the clocks (a state's tag is its writing silo's time, the pass's start the repair's
    /// silo's), a write's retries (tagged when first sent) and the blob index finding a new tag late
    /// (default five minutes).
    /// </summary>
    public TimeSpan ClockMargin { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A pass reads every stored state when the last full pass started longer ago than this (or
    /// none is recorded); otherwise only the states written since the last complete pass (default one
    /// day; zero makes every pass full).
    /// </summary>
    public TimeSpan FullPassInterval { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// A full pass deletes image bytes that no image holds (an upload committed after its lease ran
    /// out, whose completion never reached the cluster) once they are at least this old (default one
    /// hour). The image grain checks again before it deletes, so this only keeps the sweep away from
    /// writes of the last moments.
    /// </summary>
    public TimeSpan UnheldDataAge { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Images read or repaired at once.</summary>
    public int Concurrency { get; set; } = 16;

    /// <summary>Why the options cannot be used, or null when they can.</summary>
    public string? Problem() =>
        Interval < TimeSpan.FromMinutes(1) ? $"{Section}:Interval must be at least a minute (Orleans reminders' least period)."
        : MinimumGap < TimeSpan.Zero ? $"{Section}:MinimumGap must not be negative."
        : ClockMargin < TimeSpan.Zero ? $"{Section}:ClockMargin must not be negative."
        : FullPassInterval < TimeSpan.Zero ? $"{Section}:FullPassInterval must not be negative."
        : UnheldDataAge < TimeSpan.Zero ? $"{Section}:UnheldDataAge must not be negative."
        : Concurrency is < 1 or > 256 ? $"{Section}:Concurrency must be 1-256."
        : null;
}
