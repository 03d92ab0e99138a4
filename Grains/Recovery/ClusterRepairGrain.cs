using Azure.Storage.Blobs;
using Glance.Grains.Catalog;
using Glance.Grains.Images;
using Glance.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Glance.Grains.Recovery;

/// <summary>The grain-state container the azure profile's silos persist to (the repair reads it).</summary>
public sealed record GrainStateContainer(BlobContainerClient Client);

/// <summary>
/// One pass reads every stored image state (Orleans' blob per grain, the same JSON as the embedded
/// store) and its catalog entity's version, and asks each image that a dead node left behind to
/// repair itself. It never undoes work another node is doing: an upload in flight is only given
/// a lease (undone if nobody renews it), an import only if it is not running. The pass runs in
/// the background of this grain, so asking for one returns at once and start-up never waits.
/// </summary>
[GrainType("glance.cluster-repair")]
public sealed class ClusterRepairGrain(
    GrainStateContainer states,
    AzureTableCatalogStore catalog,
    IOptions<RecoveryOptions> options,
    IGrainFactory grains,
    TimeProvider clock,
    ILogger<ClusterRepairGrain> logger) : Grain, IClusterRepairGrain, IRemindable
{
    /// <summary>The one key: the job.</summary>
    public const string ImagesJob = "images";

    // Orleans' Azure Blob storage names a state blob "{state name}-{grain id}.json".
    private const string ImageStatePrefix = "image-glance.image/";
    private const string ReminderName = "repair-pass";

    private Task? _running;
    private RepairPass? _last;
    private bool _reminderRegistered;

    /// <inheritdoc />
    public async Task RequestPassAsync()
    {
        if (!_reminderRegistered)
        {
            await this.RegisterOrUpdateReminder(ReminderName, options.Value.Interval, options.Value.Interval);
            _reminderRegistered = true;
        }
        if (_running is { IsCompleted: false }
            || (_last is { } last && clock.GetUtcNow() - last.FinishedAt < options.Value.MinimumGap))
        {
            return;
        }
        // Not awaited: the pass runs in the background, on this activation, which it keeps alive.
        _running = RunPassAsync();
    }

    /// <inheritdoc />
    public Task<RepairPass?> LastPassAsync() => Task.FromResult(_last);

    /// <inheritdoc />
    public Task ReceiveReminder(string reminderName, TickStatus status) => RequestPassAsync();

    private async Task RunPassAsync()
    {
        var started = clock.GetUtcNow();
        int read = 0, repaired = 0, failures = 0;
        using var keepAlive = this.RegisterGrainTimer(() => Task.CompletedTask,
            new GrainTimerCreationOptions(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)) { KeepAlive = true });
        try
        {
            await states.Client.CreateIfNotExistsAsync();
            var blobs = states.Client.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, ImageStatePrefix, CancellationToken.None);
            await Parallel.ForEachAsync(blobs, new ParallelOptions { MaxDegreeOfParallelism = options.Value.Concurrency }, async (blob, _) =>
            {
                try
                {
                    var key = blob.Name[ImageStatePrefix.Length..].Replace(".json", "", StringComparison.Ordinal);
                    if (!Guid.TryParseExact(key, "N", out var id))
                    {
                        return;
                    }
                    var content = await states.Client.GetBlobClient(blob.Name).DownloadContentAsync();
                    Interlocked.Increment(ref read);
                    if (await NeedsRepairAsync(id, ImageStateDocument.Parse(content.Value.Content)))
                    {
                        // The silo's grain factory (not this grain's): the loop runs on the thread pool.
                        await grains.GetGrain<IImageMaintenanceGrain>(id).RepairAsync();
                        Interlocked.Increment(ref repaired);
                    }
                }
                catch (Exception exception)
                {
                    Interlocked.Increment(ref failures);
                    logger.LogWarning("Repairing from {Blob} failed (the next pass retries): {Error}", blob.Name, exception.Message);
                }
            });
        }
        catch (Exception exception)
        {
            failures++;
            logger.LogWarning(exception, "A repair pass stopped early; the next one starts over");
        }
        _last = new RepairPass(started, clock.GetUtcNow(), read, repaired, failures);
        if (repaired > 0 || failures > 0)
        {
            logger.LogWarning("Repair pass: {Read} image(s) read, {Repaired} repaired, {Failures} failure(s)", read, repaired, failures);
        }
    }

    private async Task<bool> NeedsRepairAsync(Guid id, ImageStateDocument image)
    {
        if (image.Status is null)
        {
            return false;
        }
        if (image.UploadInFlight || image.ImportInFlight || (image.Status == ImageStatus.Deleted && image.HoldsData))
        {
            return true;
        }
        var entry = await catalog.VersionAsync(this.CatalogShards().Of(image.Owner, id), id);
        return image.Status == ImageStatus.Deleted
            ? entry is { Live: true }
            : entry is not { Live: true } || entry.Value.Version < image.Version;
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
