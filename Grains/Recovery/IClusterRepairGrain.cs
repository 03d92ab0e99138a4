namespace Glance.Grains.Recovery;

/// <summary>
/// The azure profile's crash repair, one per cluster (a grain keyed by its job): finds the images a
/// dead node left behind (catalog entry behind the image, upload or import in flight, bytes of a
/// deleted image) and has each repair itself (<see cref="Images.IImageMaintenanceGrain.RepairAsync"/>),
/// the tasks whose index entry is behind or that are unfinished (<see cref="Tasks.ITaskRecorder.RepairAsync"/>),
/// and the templates whose index entry is behind (<see cref="Templates.ITemplateMaintenanceGrain"/>); a full
/// pass also deletes image bytes no image holds (<see cref="Images.IImageMaintenanceGrain.RemoveUnheldDataAsync"/>).
/// Every silo asks for a pass when it starts; an Orleans reminder asks again every
/// <see cref="RecoveryOptions.Interval"/> on whichever silo is alive. Internal: not part of the public API.
/// </summary>
[Alias("glance.IClusterRepairGrain"), Hosting.SiloOnly]
public interface IClusterRepairGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts a pass (full or incremental, as <see cref="RepairWatermark.ReadFrom"/> says; an
    /// incremental one when a full one is due but running) unless one of that kind is running or a
    /// pass finished less than <see cref="RecoveryOptions.MinimumGap"/> ago; returns at once.
    /// </summary>
    [Alias("request-pass")]
    Task RequestPassAsync();

    /// <summary>The last pass's figures (for operators and tests); null before the first pass ends.</summary>
    [Alias("last-pass"), ReadOnly]
    Task<RepairPass?> LastPassAsync();
}

/// <summary>What a finished pass did.</summary>
[GenerateSerializer, Immutable, Alias("glance.repair-pass")]
public sealed record RepairPass(
    [property: Id(0)] DateTimeOffset StartedAt,
    [property: Id(1)] DateTimeOffset FinishedAt,
    [property: Id(2)] int ImagesRead,
    [property: Id(3)] int ImagesRepaired,
    [property: Id(4)] int Failures)
{
    /// <summary>Task states read.</summary>
    [Id(7)] public int TasksRead { get; init; }

    /// <summary>Tasks asked to repair themselves.</summary>
    [Id(8)] public int TasksRepaired { get; init; }

    /// <summary>Template states read (0 without server templates).</summary>
    [Id(5)] public int TemplatesRead { get; init; }

    /// <summary>True when the pass read only the states written since the last complete pass (see <see cref="RepairWatermark"/>).</summary>
    [Id(9)] public bool Incremental { get; init; }

    /// <summary>Templates asked to publish their index entry again.</summary>
    [Id(6)] public int TemplatesRepaired { get; init; }

    /// <summary>Image data blobs a full pass looked at (those older than <see cref="RecoveryOptions.UnheldDataAge"/>; 0 in an incremental pass).</summary>
    [Id(10)] public int DataRead { get; init; }

    /// <summary>Image data blobs no image held, deleted.</summary>
    [Id(11)] public int DataRemoved { get; init; }
}
