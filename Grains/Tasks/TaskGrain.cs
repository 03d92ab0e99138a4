using Glance.Grains.Catalog;
using Glance.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Glance.Grains.Tasks;

/// <summary>What a task grain persists (JSON, camelCase: add, don't rename).</summary>
public sealed class TaskGrainState
{
    /// <summary>The task; null until it is created or first reported.</summary>
    public ImageTask? Task { get; set; }

    /// <summary>Incremented with every change of <see cref="Task"/>; index entries carry it.</summary>
    public long Version { get; set; }

    /// <summary>A legacy import's run: who asked, what to download, the image it creates.</summary>
    public LegacyImport? Legacy { get; set; }
}

/// <summary>What a legacy import task runs as and on.</summary>
/// <param name="Caller">The caller who created the task: the image is created and imported as it.</param>
/// <param name="Uri">The checked <c>import_from</c>.</param>
/// <param name="ImageId">The image, recorded before it is created (so a crash leaves it findable).</param>
public sealed record LegacyImport(Caller Caller, string Uri, Guid? ImageId);

/// <summary>
/// The findable home of a task (<c>GET /v2/tasks/{id}</c>) and the runner of legacy imports.
/// An image's import writes its task here before the image records it (so the task exists once the
/// import does), then reports each change after its own write; a report a crash lost is caught up
/// from the image: a task found pending or processing on activation, or by start-up recovery, asks
/// its image. Every change is sent to the owner-sharded index that answers <c>GET /v2/tasks</c>.
/// </summary>
[GrainType("glance.task")]
public sealed class TaskGrain(
    [PersistentState("task", GlanceStorage.ProviderName)] IPersistentState<TaskGrainState> state,
    IOptions<TaskOptions> options,
    WebDownloadFilter webDownloadFilter,
    TimeProvider clock,
    ILogger<TaskGrain> logger) : Grain, ITaskGrain, ITaskRecorder
{
    /// <summary>Glance's <c>task_time_to_live</c>: a finished task is kept for 48 hours.</summary>
    public static readonly TimeSpan TimeToLive = TimeSpan.FromHours(48);

    // Glance's message for a task that failed for a reason of the service's own.
    private const string InternalError = "Task failed due to Internal Error";

    private IGrainTimer? _work;
    private readonly PublishRetry _publishRetry = new();

    private Guid Id => this.GetPrimaryKey();

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Task is { } task && !IsFinished(task))
        {
            // Its image may have moved on while no report reached this grain (a crash): ask it.
            Schedule(CatchUpAsync);
        }
        return base.OnActivateAsync(cancellationToken);
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // The retry timer ends with this activation (a silo's graceful stop ends them all): the
        // entry's last chance before the next repair pass.
        await _publishRetry.LastChanceAsync(() => PublishAsync(retryLater: false));
        await base.OnDeactivateAsync(reason, cancellationToken);
    }

    async Task<ImageTask> ITaskGrain.CreateAsync(Caller caller, CreateTaskRequest request)
    {
        TaskAccess.Demand(options.Value, caller);
        var body = TaskBody.Parse(request.BodyJson);
        var uri = body.Type == ImportMethods.LegacyTaskType ? body.ImportFrom(webDownloadFilter) : null;
        if (state.State.Task is not null)
        {
            throw GlanceException.Conflict($"Task {Id} already exists.");
        }
        // To the microsecond, as Glance's database keeps it: tasks created within a second list in order.
        var now = clock.GetUtcNow();
        now = new DateTimeOffset(now.Ticks - now.Ticks % 10, TimeSpan.Zero);
        var task = new ImageTask
        {
            Id = Id,
            Type = body.Type,
            Status = ImageTaskStatus.Pending,
            InputJson = body.InputJson,
            Owner = caller.ProjectId,
            CreatedAt = now,
            UpdatedAt = now,
            ImageId = body.InputImageId(),
            RequestId = RequestContext.Get(GlanceRequestContext.RequestIdKey) as string,
            UserId = caller.UserId,
        };
        await SaveAsync(task, uri is null ? null : new LegacyImport(caller, uri, null));
        Schedule(RunAsync);
        return task;
    }

    async Task<ImageTask> ITaskGrain.GetAsync(Caller caller)
    {
        TaskAccess.Demand(options.Value, caller);
        var task = state.State.Task is { } found && !IsExpired(found) && TaskAccess.CanSee(caller, found)
            ? found
            : throw GlanceException.NotFound($"Could not find task {Id}");
        return task.Status == ImageTaskStatus.Processing && (task.ImageId ?? state.State.Legacy?.ImageId) is { } imageId
            ? await WithProgressAsync(task, imageId)
            : task;
    }

    /// <summary>
    /// A running import's progress lives in its image grain's memory (<see cref="ImportProgress"/>),
    /// not in reports: ask it (a read that interleaves, so it cannot deadlock with a report on its way here).
    /// </summary>
    private async Task<ImageTask> WithProgressAsync(ImageTask task, Guid imageId)
    {
        try
        {
            var live = await GrainFactory.GetGrain<IImageTaskSource>(imageId).GetTaskAsync(task.Id);
            return live is { BytesDone: not null } ? task with { Message = live.Message, BytesDone = live.BytesDone, BytesTotal = live.BytesTotal } : task;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Progress is extra: the task as recorded is still the answer.
            logger.LogDebug("Reading the progress of task {TaskId} from image {ImageId} failed: {Error}", task.Id, imageId, exception.Message);
            return task;
        }
    }

    Task ITaskRecorder.RecordAsync(ImageTask task) => MergeAsync(task);

    async Task ITaskRecorder.RecoverAsync()
    {
        if (state.State.Task is not { } task)
        {
            return;
        }
        await PublishAsync();
        if (!IsFinished(task))
        {
            await CatchUpAsync();
        }
    }

    async Task ITaskRecorder.RepairAsync()
    {
        if (state.State.Task is not { } task)
        {
            return;
        }
        await PublishAsync();
        if (!IsFinished(task) && (state.State.Legacy is null ? task.ImageId : state.State.Legacy.ImageId) is { } imageId
            && await GrainFactory.GetGrain<IImageTaskSource>(imageId).GetTaskAsync(Id) is { } known)
        {
            await MergeAsync(known);
        }
    }

    /// <summary>
    /// Takes a report of the task: whole when this grain has none yet (the import's write-ahead),
    /// otherwise its progress only, and only forward: what identifies the task (type, input,
    /// owner, image) is the creator's.
    /// </summary>
    private async Task MergeAsync(ImageTask report)
    {
        var current = state.State.Task;
        if (current is null)
        {
            await SaveAsync(report, null);
            return;
        }
        if (IsFinished(current) || Rank(report.Status) < Rank(current.Status)
            || (report.Status == current.Status && report.UpdatedAt <= current.UpdatedAt))
        {
            return;
        }
        await SaveAsync(current with
        {
            Status = report.Status,
            ResultJson = report.ResultJson,
            Message = report.Message,
            UpdatedAt = report.UpdatedAt,
            ExpiresAt = report.ExpiresAt,
        }, state.State.Legacy);
    }

    /// <summary>Ends the task in failure (Glance's <c>Task.fail</c>): it then expires after <see cref="TimeToLive"/>.</summary>
    private Task FailAsync(string message)
    {
        var now = Now();
        return state.State.Task is { } task
            ? MergeAsync(task with { Status = ImageTaskStatus.Failure, Message = message, UpdatedAt = now, ExpiresAt = now + TimeToLive })
            : Task.CompletedTask;
    }

    /// <summary>
    /// Runs a task created here. A legacy import creates its image (its id recorded first), then
    /// starts a web-download into it under this task: from then on the image runs and reports it,
    /// and deletes itself if the download fails (Glance's revert). An api_image_import task is
    /// not run by the tasks API: it fails with Glance's reason.
    /// </summary>
    private async Task RunAsync()
    {
        if (state.State.Task is not { } task || IsFinished(task))
        {
            return;
        }
        if (state.State.Legacy is not { } legacy)
        {
            await FailAsync(TaskBody.ApiImportProblem(task.InputJson));
            return;
        }
        if (TaskBody.LegacyImage(task.InputJson, out var draft) is { } problem)
        {
            await FailAsync(problem);
            return;
        }
        legacy = legacy with { ImageId = Guid.NewGuid() };
        await SaveAsync(task, legacy);
        var image = GrainFactory.GetGrain<IImageGrain>(legacy.ImageId!.Value);
        try
        {
            await image.CreateAsync(legacy.Caller, draft);
            await image.ImportAsync(legacy.Caller, ImportRequest.WebDownload(legacy.Uri) with
            {
                Task = new ImportTaskOrigin(Id, task.Type, task.InputJson, task.RequestId, task.CreatedAt),
            });
        }
        catch (Exception e)
        {
            if (e is not GlanceException)
            {
                logger.LogError(e, "Legacy import task {TaskId} could not start", Id);
            }
            await FailAsync(e is GlanceException ? e.Message : InternalError);
            await DeleteImageAsync(legacy);
        }
    }

    /// <summary>
    /// A task pending or processing that no report may ever finish: asks its image. The image's
    /// record wins; a task its image never recorded did not survive the process that started it.
    /// </summary>
    private async Task CatchUpAsync()
    {
        if (state.State.Task is not { } task || IsFinished(task))
        {
            return;
        }
        var legacy = state.State.Legacy;
        var imageId = legacy is null ? task.ImageId : legacy.ImageId;
        var known = imageId is { } id ? await GrainFactory.GetGrain<IImageTaskSource>(id).GetTaskAsync(Id) : null;
        if (known is not null)
        {
            await MergeAsync(known);
            return;
        }
        await FailAsync("The task was interrupted: the service stopped before it ran.");
        if (legacy is not null)
        {
            await DeleteImageAsync(legacy);
        }
    }

    /// <summary>A failed legacy import leaves no image behind (Glance's revert deletes it).</summary>
    private async Task DeleteImageAsync(LegacyImport legacy)
    {
        if (legacy.ImageId is not { } imageId)
        {
            return;
        }
        try
        {
            await GrainFactory.GetGrain<IImageGrain>(imageId).DeleteAsync(legacy.Caller);
        }
        catch (GlanceException e) when (e.Kind == ErrorKind.NotFound)
        {
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Deleting image {ImageId} of failed task {TaskId} failed", imageId, Id);
        }
    }

    private async Task SaveAsync(ImageTask task, LegacyImport? legacy)
    {
        var changed = !Equals(task, state.State.Task);
        await state.ReplaceAsync(new TaskGrainState
        {
            Task = task,
            Legacy = legacy,
            Version = state.State.Version + (changed ? 1 : 0),
        });
        if (changed)
        {
            await PublishAsync();
        }
    }

    /// <summary>
    /// Sends the task's entry to its index shard. On failure a timer retries; a crash before it
    /// succeeds is repaired by start-up recovery (the stored version is ahead of the entry's).
    /// </summary>
    private async Task PublishAsync(bool retryLater = true)
    {
        if (state.State.Task is not { } task)
        {
            return;
        }
        try
        {
            await GrainFactory.GetGrain<ITaskShardGrain>(this.CatalogShards().Of(task.Owner, Id)).UpsertAsync(TaskEntry.Of(task, state.State.Version));
            _publishRetry.Stop();
        }
        catch (Exception exception) when (!retryLater)
        {
            logger.LogError(exception, "Index update for task {TaskId} failed as its activation ended; the next repair pass sends it again", Id);
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Index update for task {TaskId} failed; retrying", Id);
            _publishRetry.Start(this, () => PublishAsync());
        }
    }

    /// <summary>Runs <paramref name="work"/> once, right after the current turn, keeping the activation meanwhile.</summary>
    private void Schedule(Func<Task> work)
    {
        _work?.Dispose();
        _work = this.RegisterGrainTimer(async _ =>
        {
            _work?.Dispose();
            _work = null;
            try
            {
                await work();
            }
            catch (Exception exception)
            {
                logger.LogError(exception, "Task {TaskId} failed to run", Id);
                await FailAsync(InternalError);
            }
        }, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private static bool IsFinished(ImageTask task) => task.Status is ImageTaskStatus.Success or ImageTaskStatus.Failure;

    private static int Rank(ImageTaskStatus status) => status switch
    {
        ImageTaskStatus.Pending => 0,
        ImageTaskStatus.Processing => 1,
        _ => 2,
    };

    private bool IsExpired(ImageTask task) => task.ExpiresAt < clock.GetUtcNow();

    // Glance keeps whole seconds, as the image grain does.
    private DateTimeOffset Now()
    {
        var now = clock.GetUtcNow();
        return new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
    }
}
