using Azure.Storage.Blobs;
using Glance.Grains.Catalog;
using Glance.Grains.Images;
using Glance.Grains.Storage;
using Glance.Grains.Tasks;
using Glance.Grains.Telemetry;
using Glance.Grains.Templates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Glance.Grains.Recovery;

/// <summary>The grain-state container the azure profile's silos persist to (the repair reads it).</summary>
public sealed record GrainStateContainer(BlobContainerClient Client);

/// <summary>
/// A full pass reads every stored image state (Orleans' blob per grain, the same JSON as the embedded
/// store) and its catalog entity's version, and asks each image that a dead node left behind to
/// repair itself; then every task state against its task index entity (each task whose entry is
/// behind or missing, or that is unfinished, repairs itself: <see cref="ITaskRecorder.RepairAsync"/>);
/// then every template state against its index entity (server templates, when
/// enabled), and each template whose entry is behind, missing or still live after its delete
/// publishes itself again. A full pass then lists the image data container and deletes the bytes no
/// image holds (<see cref="IImageMaintenanceGrain.RemoveUnheldDataAsync"/>). It never undoes work another node is doing: an upload in flight is only given
/// a lease (undone if nobody renews it), an import only if it is not running. The pass runs in
/// the background of this grain, so asking for one returns at once and start-up never waits.
/// Passes are incremental between full ones (<see cref="RepairWatermark"/>), and an incremental
/// one may run beside a full one (never two of a kind).
/// </summary>
[GrainType("glance.cluster-repair")]
public sealed class ClusterRepairGrain(
    [PersistentState("repair", GlanceStorage.ProviderName)] IPersistentState<RepairWatermark> watermark,
    GrainStateContainer states,
    AzureTableCatalogStore catalog,
    IOptions<RecoveryOptions> options,
    IGrainFactory grains,
    IServiceProvider services,
    TimeProvider clock,
    ILogger<ClusterRepairGrain> logger) : Grain, IClusterRepairGrain, IRemindable
{
    /// <summary>The one key: the job.</summary>
    public const string ImagesJob = "images";

    // Orleans' Azure Blob storage names a state blob "{state name}-{grain id}.json".
    private const string ImageStatePrefix = "image-glance.image/";
    private const string TemplateStatePrefix = "template-glance.template/";
    private const string TaskStatePrefix = "task-glance.task/";
    private const string ReminderName = "repair-pass";

    private Task? _full;
    private Task? _incremental;
    private RepairPass? _last;
    private bool _reminderRegistered;
    // Passes this activation has recorded: one that sees the count move while it ran overlapped another.
    private int _recorded;
    // Two passes side by side must not write the watermark at once (the second write would carry a stale ETag).
    private readonly SemaphoreSlim _storing = new(1, 1);

    /// <inheritdoc />
    public Task RequestPassAsync() => StartPassAsync();

    /// <inheritdoc />
    public Task<RepairPass?> LastPassAsync() => Task.FromResult(_last);

    /// <summary>The reminder asks for a pass like a silo's start does.</summary>
    public Task ReceiveReminder(string reminderName, TickStatus status) => StartPassAsync();

    private async Task StartPassAsync()
    {
        if (!_reminderRegistered)
        {
            await this.RegisterOrUpdateReminder(ReminderName, options.Value.Interval, options.Value.Interval);
            _reminderRegistered = true;
        }
        var started = clock.GetUtcNow();
        if (_last is { } last && started - last.FinishedAt < options.Value.MinimumGap)
        {
            return;
        }
        // Not awaited: a pass runs in the background, on this activation, which it keeps alive.
        switch (watermark.State.NextPass(started, options.Value, _full is { IsCompleted: false }, _incremental is { IsCompleted: false }))
        {
            case { Full: true }:
                _full = RunPassAsync(started, null);
                break;
            case { From: { } from }:
                _incremental = RunPassAsync(started, from);
                break;
        }
    }

    private async Task RunPassAsync(DateTimeOffset started, DateTimeOffset? changedSince)
    {
        var recordedBefore = _recorded;
        var unsettled = watermark.State.Unsettled.ToHashSet();
        var images = new Tally(changedSince, unsettled);
        var templates = new Tally(changedSince, unsettled);
        var tasks = new Tally(changedSince, unsettled);
        var data = new DataTally();
        using var keepAlive = this.RegisterGrainTimer(() => Task.CompletedTask,
            new GrainTimerCreationOptions(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)) { KeepAlive = true });
        var complete = true;
        try
        {
            await states.Client.CreateIfNotExistsAsync();
            await ScanAsync(ImageStatePrefix, images, (id, json) => ImageNeedsRepairAsync(id, ImageStateDocument.Parse(json)),
                id => grains.GetGrain<IImageMaintenanceGrain>(id).RepairAsync());
            if (services.GetService<AzureTableTaskIndexStore>() is { } taskIndex)
            {
                await ScanAsync(TaskStatePrefix, tasks, (id, json) => TaskNeedsRepairAsync(taskIndex, id, TaskStateDocument.Parse(json)),
                    id => grains.GetGrain<ITaskRecorder>(id).RepairAsync());
            }
            if (services.GetService<AzureTableTemplateIndexStore>() is { } templateIndex)
            {
                await ScanAsync(TemplateStatePrefix, templates, (id, json) => TemplateNeedsRepairAsync(templateIndex, id, TemplateStateDocument.Parse(json)),
                    id => grains.GetGrain<ITemplateMaintenanceGrain>(id).PublishToIndexAsync());
            }
            // Bytes nothing names are found only by listing them all: once per full pass.
            if (changedSince is null && services.GetService<IImageDataStore>() is AzureBlobImageDataStore store)
            {
                await SweepUnheldDataAsync(store.Container, data);
            }
        }
        catch (Exception exception)
        {
            // Listing or a tag query failed: the pass did not see every state it should have.
            complete = false;
            images.Failed(null);
            logger.LogWarning(exception, "A repair pass stopped early; the next one starts over");
        }
        _last = new RepairPass(started, clock.GetUtcNow(), images.Read, images.Repaired, images.Failures + tasks.Failures + templates.Failures + data.Failures)
        {
            DataRead = data.Read,
            DataRemoved = data.Removed,
            TasksRead = tasks.Read,
            TasksRepaired = tasks.Repaired,
            TemplatesRead = templates.Read,
            TemplatesRepaired = templates.Repaired,
            Incremental = changedSince is not null,
        };
        var repairedCount = images.Repaired + tasks.Repaired + templates.Repaired;
        // A state that failed on its own is read again by the next pass, like one it repaired: one
        // that keeps failing does not hold the watermark back for every other state.
        watermark.State.Record(started, full: changedSince is null, complete,
            images.Unsettled.Concat(tasks.Unsettled).Concat(templates.Unsettled), overlapped: _recorded != recordedBefore);
        _recorded++;
        await _storing.WaitAsync();
        try
        {
            // Stored, so the next activation (another silo's start, after this one stops) goes on from here.
            await watermark.WriteStateAsync();
        }
        catch (Exception exception)
        {
            // The stored watermark is older: the next pass reads more, and misses nothing.
            logger.LogWarning("Storing the repair watermark failed: {Error}", exception.Message);
        }
        finally
        {
            _storing.Release();
        }
        // Counted once the watermark is stored (a test that sees the count may stop the silo).
        GlanceMetrics.RepairPass(_last.Incremental, images.Read + tasks.Read + templates.Read, repairedCount, data.Removed);
        logger.Log(repairedCount > 0 || data.Removed > 0 || _last.Failures > 0 ? LogLevel.Warning : LogLevel.Information,
            "Repair pass ({Scope}, {Seconds:F1} s): {Images} image(s) read, {ImagesRepaired} repaired; {Tasks} task(s) read, {TasksRepaired} repaired; {Templates} template(s) read, {TemplatesRepaired} repaired; {Data} data blob(s) read, {DataRemoved} held by no image deleted; {Failures} failure(s)",
            _last.Incremental ? "incremental" : "full", (_last.FinishedAt - started).TotalSeconds,
            images.Read, images.Repaired, tasks.Read, tasks.Repaired, templates.Read, templates.Repaired, data.Read, data.Removed, _last.Failures);
    }

    /// <summary>Reads the state blobs under <paramref name="prefix"/> the pass chose (<see cref="Tally.NamesAsync"/>) and asks each grain whose state <paramref name="needsRepair"/> to <paramref name="repair"/>.</summary>
    private async Task ScanAsync(string prefix, Tally tally, Func<Guid, BinaryData, Task<bool>> needsRepair, Func<Guid, Task> repair)
    {
        await Parallel.ForEachAsync(tally.NamesAsync(states.Client, prefix), new ParallelOptions { MaxDegreeOfParallelism = options.Value.Concurrency }, async (name, _) =>
        {
            var key = name[prefix.Length..].Replace(".json", "", StringComparison.Ordinal);
            if (!Guid.TryParseExact(key, "N", out var id))
            {
                return;
            }
            try
            {
                BinaryData content;
                try
                {
                    content = (await states.Client.GetBlobClient(name).DownloadContentAsync()).Value.Content;
                }
                catch (Azure.RequestFailedException missing) when (missing.Status == 404)
                {
                    return; // An unsettled id of another kind, or a state cleared since.
                }
                tally.Counted();
                // The silo's grain factory (not this grain's): the loop runs on the thread pool.
                if (await needsRepair(id, content))
                {
                    await repair(id);
                    tally.Fixed(id);
                }
            }
            catch (Exception exception)
            {
                tally.Failed(id);
                logger.LogWarning("Repairing from {Blob} failed (the next pass retries): {Error}", name, exception.Message);
            }
        });
    }

    /// <summary>
    /// Deletes the image bytes that no image holds: each blob named as an upload's or import's key
    /// (<c>{image id}-{upload or task id}</c>) and older than <see cref="RecoveryOptions.UnheldDataAge"/>
    /// is checked against its image's stored state (one read), and one that the state does not name
    /// is handed to its image grain, which checks again under its own turn and deletes it.
    /// </summary>
    private async Task SweepUnheldDataAsync(BlobContainerClient container, DataTally tally)
    {
        if (!await container.ExistsAsync())
        {
            return;
        }
        var oldest = clock.GetUtcNow() - options.Value.UnheldDataAge;
        var candidates = container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, null, CancellationToken.None);
        await Parallel.ForEachAsync(candidates, new ParallelOptions { MaxDegreeOfParallelism = options.Value.Concurrency }, async (blob, _) =>
        {
            if (DataKeys.ImageOf(blob.Name) is not { } id || blob.Properties.LastModified is not { } modified || modified > oldest)
            {
                return;
            }
            try
            {
                tally.Counted();
                IReadOnlySet<string> held;
                try
                {
                    held = ImageStateDocument.Parse((await states.Client.GetBlobClient($"{ImageStatePrefix}{id:N}.json").DownloadContentAsync()).Value.Content).Keys;
                }
                catch (Azure.RequestFailedException missing) when (missing.Status == 404)
                {
                    held = new HashSet<string>(); // No state stored: the image holds nothing.
                }
                if (!held.Contains(blob.Name) && await grains.GetGrain<IImageMaintenanceGrain>(id).RemoveUnheldDataAsync(blob.Name))
                {
                    tally.Deleted();
                }
            }
            catch (Exception exception)
            {
                tally.Failed();
                logger.LogWarning("Checking image data {Blob} failed (the next full pass retries): {Error}", blob.Name, exception.Message);
            }
        });
    }

    private async Task<bool> ImageNeedsRepairAsync(Guid id, ImageStateDocument image)
    {
        if (image.Status is null)
        {
            return false;
        }
        if (image.UploadInFlight || image.ImportInFlight || (image.Status == ImageStatus.Deleted && image.HoldsData))
        {
            return true;
        }
        var shard = ShardOf(image.Owner, id);
        var entry = await catalog.VersionAsync(shard, id);
        var behind = image.Status == ImageStatus.Deleted
            ? entry is { Live: true }
            : entry is not { Live: true } || entry.Value.Version < image.Version;
        // An owner change removes the entry from the former owner's shard, then writes it to the new
        // one: a crash between the two leaves it live in the former shard.
        return behind
            || (image.FormerOwner is not null && ShardOf(image.FormerOwner, id) is var former && former != shard
                && await catalog.VersionAsync(former, id) is { Live: true });
    }

    // A task's index entry is behind (or missing) after a crash between its write and its index
    // update; an unexpired task still pending or processing may also have missed its image's last
    // report. Expired tasks are left to the index, which drops them.
    private async Task<bool> TaskNeedsRepairAsync(AzureTableTaskIndexStore index, Guid id, TaskStateDocument task)
    {
        if (!task.Exists || task.ExpiresAt < clock.GetUtcNow())
        {
            return false;
        }
        if (!task.Finished)
        {
            return true;
        }
        var entry = await index.VersionAsync(ShardOf(task.Owner, id), id);
        return entry is null || entry.Value.Version < task.Version;
    }

    // A template's index entry is behind (or missing) when its write reached storage and its index
    // update did not; a deleted template's entry is then still live. Republishing sends the current
    // state at its version: the shard ignores it if it already has that version or a newer one.
    private async Task<bool> TemplateNeedsRepairAsync(AzureTableTemplateIndexStore index, Guid id, TemplateStateDocument template)
    {
        if (!template.Created)
        {
            return false;
        }
        var entry = await index.VersionAsync(ShardOf(template.Owner, id), id);
        return template.Deleted
            ? entry is { Live: true }
            : entry is not { Live: true } || entry.Value.Version < template.Version;
    }

    // The shard of an owner's entry, as the grains place it (images, tasks and templates alike): the one call to the layout.
    private long ShardOf(string? owner, Guid id) => this.CatalogShards().Of(owner, id);

    /// <summary>The sweep of unheld data's counts.</summary>
    private sealed class DataTally
    {
        private int _read, _removed, _failures;

        public int Read => _read;
        public int Removed => _removed;
        public int Failures => _failures;

        public void Counted() => Interlocked.Increment(ref _read);
        public void Deleted() => Interlocked.Increment(ref _removed);
        public void Failed() => Interlocked.Increment(ref _failures);
    }

    /// <summary>One scan's counts, and which states it reads: all, or those written since a time and the unsettled ones.</summary>
    private sealed class Tally(DateTimeOffset? changedSince, IReadOnlySet<Guid> unsettled)
    {
        private readonly System.Collections.Concurrent.ConcurrentBag<Guid> _unsettled = [];
        private int _read, _repaired, _failures;

        public int Read => _read;
        public int Repaired => _repaired;
        public int Failures => _failures;

        /// <summary>The states this scan asked to repair or failed on: the next pass reads them again.</summary>
        public IEnumerable<Guid> Unsettled => _unsettled;

        /// <summary>
        /// The names of the state blobs under <paramref name="prefix"/> to read: a full pass lists
        /// every one (one list call per 5,000); an incremental pass asks the blob index for those
        /// tagged as written since its time (<see cref="StateWriteTags"/>), so its cost grows with
        /// the writes, not the states, and adds the unsettled ones by name.
        /// </summary>
        public async IAsyncEnumerable<string> NamesAsync(BlobContainerClient container, string prefix)
        {
            if (changedSince is not { } since)
            {
                await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, CancellationToken.None))
                {
                    yield return blob.Name;
                }
                yield break;
            }
            var named = unsettled.Select(id => $"{prefix}{id:N}.json").ToHashSet();
            foreach (var name in named)
            {
                yield return name;
            }
            await foreach (var blob in container.FindBlobsByTagsAsync(StateWriteTags.WrittenSince(prefix.TrimEnd('/'), since)))
            {
                if (!named.Contains(blob.BlobName))
                {
                    yield return blob.BlobName;
                }
            }
        }

        public void Counted() => Interlocked.Increment(ref _read);
        public void Failed(Guid? id)
        {
            if (id is { } failed)
            {
                _unsettled.Add(failed);
            }
            Interlocked.Increment(ref _failures);
        }

        public void Fixed(Guid id)
        {
            _unsettled.Add(id);
            Interlocked.Increment(ref _repaired);
        }
    }
}

/// <summary>Each silo of the azure profile asks for a repair pass when it starts (the grain runs one per cluster).</summary>
public sealed class ClusterRepairStarter(IGrainFactory grains, ILogger<ClusterRepairStarter> logger) : IStartupTask
{
    /// <inheritdoc />
    public async Task Execute(CancellationToken cancellationToken)
    {
        try
        {
            await grains.GetGrain<IClusterRepairGrain>(ClusterRepairGrain.ImagesJob).RequestPassAsync();
        }
        catch (Exception exception)
        {
            // The reminder asks again; start-up does not wait for repairs.
            logger.LogWarning("Asking for a repair pass failed: {Error}", exception.Message);
        }
    }
}

/// <summary>
/// Asks for a repair pass when a silo leaves the cluster: one that died (an active member declared
/// dead) lost the uploads whose grain and streaming node were both on it and the imports that ran
/// there, which the pass gives back their lease (and undoes) within minutes, not at the next hourly
/// pass; one that stopped gracefully may have ended an activation whose last catalog update failed
/// (<see cref="Catalog.PublishRetry.LastChanceAsync"/>), which the pass sends again. Every surviving
/// silo asks; the repair grain runs one pass.
/// </summary>
public sealed class SiloLossRepairTrigger(IClusterMembershipService membership, IGrainFactory grains, ILogger<SiloLossRepairTrigger> logger)
    : Microsoft.Extensions.Hosting.BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ClusterMembershipSnapshot? previous = null;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                if (previous is not null && snapshot.Members.Values.Any(m =>
                        m.Status == SiloStatus.Dead && previous.GetSiloStatus(m.SiloAddress) is SiloStatus.Active or SiloStatus.ShuttingDown or SiloStatus.Stopping))
                {
                    await RequestPassAsync();
                }
                previous = snapshot;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The silo is stopping.
        }
    }

    private async Task RequestPassAsync()
    {
        try
        {
            await grains.GetGrain<IClusterRepairGrain>(ClusterRepairGrain.ImagesJob).RequestPassAsync();
        }
        catch (Exception exception)
        {
            // The hourly reminder asks again.
            logger.LogWarning("Asking for a repair pass after a silo left failed: {Error}", exception.Message);
        }
    }
}
