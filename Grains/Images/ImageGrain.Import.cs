using System.Text.Json;
using Glance.Grains.Storage;
using Glance.Grains.Tasks;
using Glance.Grains.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Glance.Grains.Images;

/// <summary>
/// Interoperable image import (spec 1.4, 1.6): glance-direct (the staged blob becomes the
/// image's data) and web-download (a URL streamed into the store). The request is
/// validated and recorded (image importing, <c>os_glance_import_task</c>, a pending task, a
/// write-ahead <see cref="PendingImport"/>) before the caller gets its 202; the bytes then move
/// on the thread pool (<see cref="ImportTransfer"/>), and the grain records the outcome through a
/// message to itself, so that state changes never interleave with the requests it serves. Each task is also reported to its
/// task grain (the tasks API's home of it): written there before the import is recorded here, then
/// sent each change after this grain's write (<see cref="ReportTasksAsync"/>).
/// </summary>
public sealed partial class ImageGrain : IImageTaskSource
{
    private const string ImportTaskProperty = "os_glance_import_task";
    private const string ImportingStoresProperty = "os_glance_importing_to_stores";
    private const string FailedImportProperty = "os_glance_failed_import";

    /// <summary>Glance's <c>task_time_to_live</c>: a finished task is listed for 48 hours.</summary>
    private static readonly TimeSpan TaskTimeToLive = TimeSpan.FromHours(48);

    private RunningImport? _running;

    // Tasks whose latest change here their task grains have not yet been told of.
    private readonly HashSet<Guid> _unsentTasks = [];
    private IGrainTimer? _taskSender;

    private sealed record RunningImport(Guid TaskId, CancellationTokenSource Cancel, ImportProgress Progress);

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The set's properties are stored with the set, a row each (so that writing one costs that
        // one), not with the image: it reads them here. Nothing shows a deleted image's.
        if (state.State.Status is not null and not ImageStatus.Deleted && state.State.PropertiesVersion != 0)
        {
            Show(state.State, await StoredPropertiesAsync());
        }
        // An import recorded in state but not running here was cut short (crash, or the previous
        // activation went away): undo it so the image does not stay importing forever.
        if (state.State.Import is not null && state.State.Status is not null)
        {
            try
            {
                if (state.State.Status == ImageStatus.Deleted)
                {
                    await DeleteDataAsync();
                }
                else
                {
                    await RollBackInterruptedImportAsync();
                }
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "Rolling back the interrupted import of image {ImageId} failed; start-up recovery retries", Id);
            }
        }
        if (state.State.Upload is not null)
        {
            HoldUploadLease();
        }
        await base.OnActivateAsync(cancellationToken);
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // The run stops and deletes what it wrote; the next activation rolls the image back.
        _running?.Cancel.Cancel();
        // The catalog retry timer ends with this activation (a silo's graceful stop ends them
        // all): the entry's last chance before the next repair pass.
        await _catalogRetry.LastChanceAsync(() => PublishAsync(state.State.Owner, retryLater: false));
        await base.OnDeactivateAsync(reason, cancellationToken);
    }

    async Task IImageGrain.ImportAsync(Caller caller, ImportRequest request)
    {
        var options = transfers.Options;
        // The body first: Glance validates it before it looks the image up.
        var body = ImportBody.Parse(request.BodyJson, options.Methods, dataStore.Id);
        var image = Visible(caller);
        if (image.Status == ImageStatus.Active)
        {
            throw GlanceException.Conflict("Image with status active cannot be target for import");
        }
        if (body.Method == ImportMethods.WebDownload && image.Status != ImageStatus.Queued)
        {
            throw GlanceException.Conflict($"Image needs to be in 'queued' state to use '{body.Method}' method");
        }
        if (body.Method == ImportMethods.GlanceDirect
            && (image.Status != ImageStatus.Uploading || state.State.StagedKey is null || state.State.Upload is not null))
        {
            throw GlanceException.Conflict("Image needs to be staged before 'glance-direct' method can be used");
        }
        if (image.ContainerFormat is null)
        {
            throw GlanceException.Conflict("'container_format' needs to be set before import");
        }
        if (image.DiskFormat is null)
        {
            throw GlanceException.Conflict("'disk_format' needs to be set before import");
        }
        if (!ImageAccess.CanModify(caller, image))
        {
            throw GlanceException.Forbidden($"You are not permitted to modify image {Id}.");
        }
        if (state.State.Import is not null)
        {
            throw GlanceException.Conflict("Image has active task");
        }
        if (body.Stores.FirstOrDefault(s => s != dataStore.Id) is { } unknown)
        {
            throw GlanceException.Conflict($"Unknown scheme '{unknown}' found in URI");
        }
        long maxBytes = 0;
        if (body.Method == ImportMethods.WebDownload)
        {
            // Scheme, host and port are checked now (400); where the host leads (no such name, a loopback,
            // link-local or private address) only when connecting, so that the task fails as in Glance
            // (tempest: an unresolvable host is accepted, then the import fails).
            if (transfers.Allowed(body.Uri) is null)
            {
                throw GlanceException.BadRequest($"URI for web-download does not pass filtering: {body.UriText ?? "None"}");
            }
            maxBytes = await MaxUploadBytesAsync(image.Owner);
            // The awaits above let other turns run: check again that nothing started meanwhile.
            if (state.State.Status != ImageStatus.Queued || state.State.Import is not null)
            {
                throw GlanceException.Conflict("Image has active task");
            }
        }

        var now = Now();
        // A legacy import (POST /v2/tasks) runs under the task its task grain created.
        var origin = request.Task;
        var taskId = origin?.TaskId ?? Guid.NewGuid();
        var draft = state.State.Clone();
        draft.Tasks.RemoveAll(t => t.ExpiresAt < now);
        draft.Tasks.Add(new TaskState(taskId, origin?.Type ?? ImportMethods.TaskType, ImageTaskStatus.Pending, origin?.InputJson ?? body.TaskInput(Id), null, "",
            caller.ProjectId, origin?.CreatedAt ?? now, now, null, origin?.RequestId ?? RequestContext.Get(GlanceRequestContext.RequestIdKey) as string, caller.UserId));
        draft.Status = ImageStatus.Importing;
        draft.Properties[ImportTaskProperty] = taskId.ToString();
        draft.Properties[ImportingStoresProperty] = string.Join(",", body.Stores);
        draft.Properties[FailedImportProperty] = "";
        var direct = body.Method == ImportMethods.GlanceDirect;
        draft.Import = new PendingImport(taskId, body.Method, DataKeys.For(Id, taskId), direct ? draft.StagedKey : null,
            direct ? new UploadedData(draft.Size ?? 0, draft.StagedChecksum ?? draft.Checksum ?? "", draft.StagedHashValue ?? draft.OsHashValue ?? "",
                draft.StagedVirtualSize, draft.StagedFormat, draft.StagedUnsafe) : null,
            body.Uri, maxBytes, now);
        draft.UpdatedAt = now;
        var task = Recorder(taskId);
        if (origin is null)
        {
            // Write-ahead: the task exists (findable by id) before the import does.
            await task.RecordAsync(draft.Tasks[^1].ToRecord(Id));
        }
        try
        {
            await SaveAsync(draft, image.Owner);
        }
        catch when (origin is null)
        {
            // No import: end the task the write-ahead made (if this fails too, the task grain asks later).
            var failed = draft.Tasks[^1] with { Status = ImageTaskStatus.Failure, Message = "The import could not be recorded.", ExpiresAt = now + TaskTimeToLive };
            await task.RecordAsync(failed.ToRecord(Id));
            throw;
        }

        // Keep the activation (and so the run) alive until the import ends.
        DelayDeactivation(Timeout.InfiniteTimeSpan);
        var running = new RunningImport(taskId, new CancellationTokenSource(), new ImportProgress(draft.Import.Staged?.Size));
        GlanceMetrics.ImportStarted(body.Method);
        _running = running;
        _ = RunImportAsync(draft.Import, running);
    }

    Task<ImmutableArray<ImageTask>> IImageGrain.ListTasksAsync(Caller caller)
    {
        Visible(caller);
        var now = clock.GetUtcNow();
        // Glance's _is_task_visible: admins see every task, others those of their project.
        var tasks = state.State.Tasks
            .Where(t => t.ExpiresAt is null || t.ExpiresAt >= now)
            // A legacy import's task is not the image's in Glance (its image_id is unset): /v2/tasks shows it.
            .Where(t => t.Type == ImportMethods.TaskType)
            .Where(t => caller.IsAdmin || t.Owner is null || t.Owner == caller.ProjectId)
            .Select(WithProgress)
            .ToImmutableArray();
        return Task.FromResult(tasks);
    }

    Task<ImageTask?> IImageTaskSource.GetTaskAsync(Guid taskId) =>
        Task.FromResult(state.State.Tasks.Find(t => t.Id == taskId) is { } task ? WithProgress(task) : null);

    /// <summary>The task's record, with its progress while it runs here.</summary>
    private ImageTask WithProgress(TaskState task) =>
        _running is { } running && running.TaskId == task.Id ? running.Progress.Apply(task.ToRecord(Id)) : task.ToRecord(Id);

    Task IImageTaskSource.SendTasksAsync()
    {
        foreach (var task in state.State.Tasks)
        {
            ReportLater(task.Id);
        }
        return Task.CompletedTask;
    }

    async Task<bool> IImageImportGrain.BeginImportWorkAsync(Guid taskId)
    {
        if (state.State.Import?.TaskId != taskId || state.State.Status != ImageStatus.Importing)
        {
            return false;
        }
        var draft = state.State.Clone();
        UpdateTask(draft, taskId, t => t with { Status = ImageTaskStatus.Processing, UpdatedAt = Now() });
        await SaveAsync(draft, draft.Owner);
        return true;
    }

    async Task IImageImportGrain.FinishImportAsync(Guid taskId, string dataKey, UploadedData? data, string? error)
    {
        if (_running?.TaskId == taskId)
        {
            _running.Cancel.Dispose();
            _running = null;
            DelayDeactivation(TimeSpan.Zero);
        }
        var import = state.State.Import;
        if (import?.TaskId != taskId)
        {
            // Not this image's import any more (rolled back meanwhile): drop what the run wrote.
            if (dataKey != state.State.DataKey)
            {
                await dataStore.DeleteAsync(dataKey, CancellationToken.None);
            }
            return;
        }
        if (state.State.Status == ImageStatus.Deleted)
        {
            // Deleted while importing: the bytes go with the image.
            await DeleteBlobsAsync(import.DataKey, import.SourceKey);
            var gone = state.State.Clone();
            gone.Import = null;
            FinishTask(gone, taskId, "The image was deleted during the import.");
            await SaveAsync(gone, gone.Owner);
            return;
        }
        // An extension's check of imported data (format inspection), as the upload path's filter does.
        if (error is null && data is not null)
        {
            error = ServiceProvider.GetService<IImportedDataCheck>()?.Problem(state.State.DiskFormat, data);
        }
        if (error is not null || data is null)
        {
            await FailImportAsync(import, error ?? "The import failed.");
            return;
        }
        var now = Now();
        var draft = state.State.Clone();
        draft.Import = null;
        draft.AcceptData(import.DataKey, data, VirtualSizeOf(draft.DiskFormat, data), now);
        draft.StagedKey = null;
        draft.StagedChecksum = draft.StagedHashValue = null;
        draft.StagedVirtualSize = null;
        draft.StagedFormat = null;
        draft.StagedUnsafe = null;
        draft.Properties.Remove(ImportTaskProperty);
        draft.Properties[ImportingStoresProperty] = "";
        draft.Properties[FailedImportProperty] = "";
        draft.UpdatedAt = now;
        FinishTask(draft, taskId, null);
        await SaveAsync(draft, draft.Owner);
    }

    /// <summary>Undoes an import no run will finish (a crash, or a lost activation).</summary>
    private Task RollBackInterruptedImportAsync() =>
        FailImportAsync(state.State.Import!, "The import was interrupted: the service stopped while it ran.");

    /// <summary>
    /// A failed import, as Glance reverts it: back to queued (size cleared, properties intact),
    /// the store recorded in <c>os_glance_failed_import</c>, staged and partial data deleted, the task failed.
    /// </summary>
    private async Task FailImportAsync(PendingImport import, string message)
    {
        logger.LogInformation("Import {TaskId} of image {ImageId} failed: {Message}", import.TaskId, Id, message);
        await DeleteBlobsAsync(import.DataKey, import.SourceKey);
        var draft = state.State.Clone();
        draft.Import = null;
        draft.BackToQueued();
        draft.StagedKey = import.SourceKey is not null && import.SourceKey == draft.StagedKey ? null : draft.StagedKey;
        draft.StagedChecksum = draft.StagedKey is null ? null : draft.StagedChecksum;
        draft.StagedHashValue = draft.StagedKey is null ? null : draft.StagedHashValue;
        draft.StagedVirtualSize = draft.StagedKey is null ? null : draft.StagedVirtualSize;
        draft.StagedFormat = draft.StagedKey is null ? null : draft.StagedFormat;
        draft.StagedUnsafe = draft.StagedKey is null ? null : draft.StagedUnsafe;
        draft.Properties.Remove(ImportTaskProperty);
        draft.Properties[ImportingStoresProperty] = "";
        draft.Properties[FailedImportProperty] = dataStore.Id;
        draft.UpdatedAt = Now();
        if (draft.Tasks.Find(t => t.Id == import.TaskId)?.Type == ImportMethods.LegacyTaskType)
        {
            // A legacy import's image goes with its failure (Glance's revert deletes it).
            draft.Status = ImageStatus.Deleted;
        }
        FinishTask(draft, import.TaskId, message);
        await SaveAsync(draft, draft.Owner);
    }

    private async Task DeleteBlobsAsync(params string?[] keys)
    {
        foreach (var key in keys.OfType<string>())
        {
            try
            {
                await dataStore.DeleteAsync(key, CancellationToken.None);
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "Deleting blob {Key} of image {ImageId} failed", key, Id);
            }
        }
    }

    /// <summary>Ends a task: success (with Glance's result) when <paramref name="failure"/> is null.</summary>
    private void FinishTask(ImageState draft, Guid taskId, string? failure)
    {
        var now = Now();
        UpdateTask(draft, taskId, t => t with
        {
            Status = failure is null ? ImageTaskStatus.Success : ImageTaskStatus.Failure,
            ResultJson = failure is null ? JsonSerializer.Serialize(new { image_id = Id.ToString() }) : t.ResultJson,
            Message = failure ?? "",
            UpdatedAt = now,
            ExpiresAt = now + TaskTimeToLive,
        });
    }

    private void UpdateTask(ImageState draft, Guid taskId, Func<TaskState, TaskState> change)
    {
        var index = draft.Tasks.FindIndex(t => t.Id == taskId);
        if (index >= 0)
        {
            draft.Tasks[index] = change(draft.Tasks[index]);
            // Its task grain is told after this turn, from what was written (an unsaved draft sends nothing new).
            ReportLater(taskId);
        }
    }

    private void ReportLater(Guid taskId)
    {
        _unsentTasks.Add(taskId);
        _taskSender ??= this.RegisterGrainTimer(ReportTasksAsync,
            new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromSeconds(5)) { KeepAlive = true });
    }

    private ITaskRecorder Recorder(Guid taskId) => GrainFactory.GetGrain<ITaskRecorder>(taskId);

    /// <summary>
    /// Tells task grains of their tasks' changes, from a timer: never while this grain serves a call,
    /// so a task grain waiting on this image cannot deadlock with it. Retried every 5 s until it
    /// succeeds; a crash meanwhile is caught up by the task grain (it asks <see cref="IImageTaskSource"/>).
    /// </summary>
    private async Task ReportTasksAsync(CancellationToken cancellationToken)
    {
        foreach (var taskId in _unsentTasks.ToList())
        {
            try
            {
                if (state.State.Tasks.Find(t => t.Id == taskId) is { } task)
                {
                    await Recorder(taskId).RecordAsync(task.ToRecord(Id));
                }
                _unsentTasks.Remove(taskId);
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "Reporting task {TaskId} of image {ImageId} failed; retrying", taskId, Id);
                return;
            }
        }
        _taskSender?.Dispose();
        _taskSender = null;
    }

    /// <summary>
    /// The background part of an import. Runs on the grain's scheduler only between its awaits;
    /// the bytes move on the thread pool, and every state change is a message to the grain itself.
    /// </summary>
    private async Task RunImportAsync(PendingImport import, RunningImport running)
    {
        var self = this.AsReference<IImageImportGrain>();
        var cancellation = running.Cancel.Token;
        UploadedData? data = null;
        string? error = null;
        try
        {
            if (!await self.BeginImportWorkAsync(import.TaskId))
            {
                error = "The import was cancelled.";
            }
            else
            {
                data = await Task.Run(() => transfers.RunAsync(import, running.Progress, cancellation), CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            error = "The import was cancelled.";
        }
        catch (Exception exception)
        {
            error = ImportTransfer.Describe(exception);
            logger.LogInformation(exception, "Import {TaskId} of image {ImageId} failed", import.TaskId, Id);
        }
        GlanceMetrics.ImportFinished(import.Method, error is null);
        try
        {
            await self.FinishImportAsync(import.TaskId, import.DataKey, data, error);
        }
        catch (Exception exception)
        {
            // The activation is going away or storage failed: the next activation (or start-up
            // recovery) finds the PendingImport and rolls it back. Make sure there is a next one.
            logger.LogWarning(exception, "Recording the end of import {TaskId} of image {ImageId} failed", import.TaskId, Id);
            if (_running == running)
            {
                _running = null;
                running.Cancel.Dispose();
                DelayDeactivation(TimeSpan.Zero);
                DeactivateOnIdle();
            }
        }
    }
}
