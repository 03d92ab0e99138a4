using Glance.Api.Images;
using Glance.Grains.Storage;
using Glance.Grains.Telemetry;
using Microsoft.AspNetCore.Http.Features;

namespace Glance.Api.ImageData;

/// <summary>
/// The upload sequence, the one place bytes enter the service: the image grain reserves the
/// upload (a ticket naming where the bytes go and how many may come), the request body streams
/// into the data store through the hashing stream, and the grain commits what was measured or,
/// on any failure, aborts (the bytes the ticket names are deleted and the image returns to a
/// state where a retry works). Runs on whichever node serves the request: it needs only a grain
/// factory and the data store, never a silo.
/// </summary>
public sealed class ImageUploads(IGrainFactory grains, IImageDataStore store, ILogger<ImageUploads> logger)
{
    /// <summary>Streams <paramref name="context"/>'s request body into image <paramref name="id"/>'s data or staging area.</summary>
    public async Task<ImageRecord> UploadAsync(HttpContext context, string id, Caller caller, UploadTarget target, long? declaredSize)
    {
        using var inFlight = GlanceMetrics.Upload();
        var grain = grains.Image(id);
        var ticket = await grain.BeginUploadAsync(caller, target, declaredSize);
        // The ticket's limit replaces Kestrel's 30 MB default; the hashing stream enforces it.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        // Renewed until the upload is committed or undone: a completion retried after the grain's
        // silo died must not find that the new activation's lease ran out meanwhile.
        var renewals = RenewAsync(grain, ticket, stop);
        try
        {
            UploadedData measured;
            try
            {
                using var body = new HashingReadStream(context.Request.Body, ticket.MaxBytes);
                await store.WriteAsync(ticket.DataKey, body, stop.Token);
                measured = await body.ResultAsync();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
            {
                await grain.AbortUploadAsync(ticket.UploadId);
                // The grain let the ticket go (the image was deleted, or the lease was lost): as Glance says it.
                throw new GlanceException(ErrorKind.Gone, $"Image {id} could not be found after upload. The image may have been deleted during the upload.");
            }
            catch
            {
                await grain.AbortUploadAsync(ticket.UploadId);
                throw;
            }
            // The grain checks the size against the declared one and drops the bytes it refuses.
            return await CompleteAsync(grain, ticket, measured);
        }
        finally
        {
            await stop.CancelAsync();
            await renewals;
        }
    }

    /// <summary>
    /// Commits the upload, trying again when the call itself failed (the grain's silo died: the
    /// next call activates it on another silo, which grants the upload a new lease). Completing is
    /// idempotent, so a retry after a lost answer gets the same image; a refusal is not retried.
    /// </summary>
    private async Task<ImageRecord> CompleteAsync(IImageGrain grain, UploadTicket ticket, UploadedData measured)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await grain.CompleteUploadAsync(ticket.UploadId, measured);
            }
            catch (Exception e) when (e is not GlanceException && attempt < CompleteAttempts)
            {
                logger.LogWarning("Completing upload {UploadId} failed (attempt {Attempt}): {Error}", ticket.UploadId, attempt, e.Message);
                await Task.Delay(ticket.RenewEvery > TimeSpan.Zero ? ticket.RenewEvery : TimeSpan.FromSeconds(1));
            }
        }
    }

    private const int CompleteAttempts = 3;

    /// <summary>
    /// Renews the upload's lease until <paramref name="stop"/> is cancelled; cancels it when the
    /// grain no longer holds the ticket. A renewal that fails or takes longer than a tick (a silo
    /// being replaced) is tried again at the next tick: the lease is three ticks long.
    /// </summary>
    private async Task RenewAsync(IImageGrain grain, UploadTicket ticket, CancellationTokenSource stop)
    {
        if (ticket.RenewEvery <= TimeSpan.Zero)
        {
            return;
        }
        using var timer = new PeriodicTimer(ticket.RenewEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(stop.Token))
            {
                try
                {
                    // Bounded by a tick: a renewal sent to a silo that just died must not hold up
                    // the next one past the lease (the call goes on; its answer is dropped).
                    if (!await grain.RenewUploadAsync(ticket.UploadId).WaitAsync(ticket.RenewEvery, stop.Token))
                    {
                        await stop.CancelAsync();
                        return;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning("Renewing the lease of upload {UploadId} failed: {Error}", ticket.UploadId, e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The upload ended.
        }
    }
}
