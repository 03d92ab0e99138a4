using Glance.Api.Images;
using Glance.Grains.Storage;
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
public sealed class ImageUploads(IGrainFactory grains, IImageDataStore store)
{
    /// <summary>Streams <paramref name="context"/>'s request body into image <paramref name="id"/>'s data or staging area.</summary>
    public async Task<ImageRecord> UploadAsync(HttpContext context, string id, Caller caller, UploadTarget target, long? declaredSize)
    {
        var grain = grains.Image(id);
        var ticket = await grain.BeginUploadAsync(caller, target, declaredSize);
        // The ticket's limit replaces Kestrel's 30 MB default; the hashing stream enforces it.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }
        UploadedData measured;
        try
        {
            using var body = new HashingReadStream(context.Request.Body, ticket.MaxBytes);
            await store.WriteAsync(ticket.DataKey, body, context.RequestAborted);
            measured = await body.ResultAsync();
        }
        catch
        {
            await grain.AbortUploadAsync(ticket.UploadId);
            throw;
        }
        // The grain checks the size against the declared one and drops the bytes it refuses.
        return await grain.CompleteUploadAsync(ticket.UploadId, measured);
    }
}
