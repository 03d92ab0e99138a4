namespace Glance.Grains.Tasks;

/// <summary>
/// What the import flow and start-up recovery tell a task grain. Not part of the public grain API:
/// a task's status is only ever reported by the grain that runs it (its image).
/// </summary>
[Alias("glance.ITaskRecorder"), Hosting.SiloOnly]
public interface ITaskRecorder : IGrainWithGuidKey
{
    /// <summary>
    /// Records the task as its image sees it. The first record is taken whole; later ones only move
    /// the status forward (pending, processing, then success or failure), so a late or repeated
    /// report never undoes a newer one. Idempotent.
    /// </summary>
    [Alias("record")]
    Task RecordAsync(ImageTask task);

    /// <summary>
    /// Start-up recovery: sends the task's entry to its index shard again and, for a task still
    /// pending or processing, asks its image what became of it (a crash may have fallen between the
    /// image's write and the report). Idempotent.
    /// </summary>
    [Alias("recover")]
    Task RecoverAsync();

    /// <summary>
    /// The azure profile's cluster repair, safe while other nodes work: sends the task's entry to its
    /// index shard again and, for a task still pending or processing, takes what its image knows of
    /// it (forward only). Unlike <see cref="RecoverAsync"/> it never fails a task its image does not
    /// know yet: on a live cluster that is an import between its task's write-ahead and its image's
    /// record, or a legacy import that has not created its image. Idempotent.
    /// </summary>
    [Alias("repair")]
    Task RepairAsync();
}

/// <summary>An image's side of its tasks: what a task grain asks to catch up after a crash.</summary>
[Alias("glance.IImageTaskSource"), Hosting.SiloOnly]
public interface IImageTaskSource : IGrainWithGuidKey
{
    /// <summary>
    /// The image's record of one of its tasks, or null when it has none. Only reads, so it may
    /// interleave: a task grain asks while the image may itself be waiting to report to that task grain.
    /// </summary>
    [ReadOnly, AlwaysInterleave, Alias("get-task")]
    Task<ImageTask?> GetTaskAsync(Guid taskId);

    /// <summary>
    /// Start-up recovery: reports every task of the image to its task grain (soon after, from a
    /// timer), for tasks recorded before task grains existed. Idempotent.
    /// </summary>
    [Alias("send-tasks")]
    Task SendTasksAsync();
}

/// <summary>
/// One shard of the task index: the tasks of the owners that hash to it (as the image catalog's
/// shards, <see cref="Catalog.CatalogLayout"/>), kept in memory and in an <see cref="ITaskIndexStore"/>.
/// Entries carry the task grain's version, so a late or repeated update never overwrites a newer one.
/// </summary>
[Alias("glance.ITaskShardGrain"), Hosting.SiloOnly]
public interface ITaskShardGrain : IGrainWithIntegerKey
{
    /// <summary>Stores a task's entry unless the shard already has a newer version.</summary>
    [Alias("upsert")]
    Task UpsertAsync(TaskEntry entry);

    /// <summary>Up to <c>query.Limit</c> unexpired tasks the caller may list, in query order, strictly after <paramref name="after"/>.</summary>
    [ReadOnly, Alias("query")]
    Task<ImmutableArray<ImageTask>> QueryAsync(Caller caller, TaskQuery query, ImageTask? after);
}

/// <summary>A task as the index holds it: without input, result and message (lists leave them out), with its version.</summary>
[GenerateSerializer, Immutable, Alias("glance.task-entry")]
public sealed record TaskEntry([property: Id(0)] ImageTask Task, [property: Id(1)] long Version)
{
    /// <summary>The entry of <paramref name="task"/> at <paramref name="version"/>.</summary>
    public static TaskEntry Of(ImageTask task, long version) =>
        new(task with { InputJson = "null", ResultJson = null, Message = "" }, version);
}

/// <summary>Durable home of the task index: one row per task, version-guarded, as the image catalog's entries.</summary>
public interface ITaskIndexStore
{
    /// <summary>A shard's unexpired entries (expired ones are dropped from the store).</summary>
    Task<IReadOnlyList<TaskEntry>> LoadShardAsync(long shard, DateTimeOffset now);

    /// <summary>Stores an entry unless a newer version is stored.</summary>
    Task UpsertAsync(long shard, TaskEntry entry);
}
