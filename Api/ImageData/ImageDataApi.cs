using System.Globalization;
using Glance.Api.Identity;
using Glance.Api.Images;
using Glance.Grains.Storage;
using Glance.Grains.Telemetry;
using Microsoft.Net.Http.Headers;

namespace Glance.Api.ImageData;

/// <summary>
/// The image bytes, a resource apart from the metadata (spec section 6). Uploads stream from
/// the request straight into the data store while being hashed; downloads stream from the
/// store with ranges and conditional requests. The image grain is asked once per request
/// ("may this caller do it, and where are the bytes"); bytes never pass through it.
/// </summary>
public static class ImageDataApi
{
    private const string OctetStream = "application/octet-stream";
    private const string SizeHeader = "x-openstack-image-size";
    // The least a read asks the response pipe for; it hands out the rest of its current
    // 256 KiB block (LargeBlockMemoryPool).
    private const int CopyBuffer = 64 * 1024;
    private const int FlushEvery = 256 << 10;

    /// <summary>Maps <c>/v2/images/{id}/file</c> and <c>/v2/images/{id}/stage</c>.</summary>
    public static IEndpointRouteBuilder MapImageDataApi(this IEndpointRouteBuilder app)
    {
        var images = app.MapGroup("/v2/images/{id}").WithTags("Image data");
        images.MapPut("file", (HttpContext context, string id, ImageUploads uploads) => UploadAsync(context, id, uploads, UploadTarget.File))
            .WithName("UploadImageData").WithSummary("Upload the image's bytes (204); streamed and hashed");
        images.MapPut("stage", (HttpContext context, string id, ImageUploads uploads) => UploadAsync(context, id, uploads, UploadTarget.Stage))
            .WithName("StageImageData").WithSummary("Stage bytes for a glance-direct import (204)");
        images.MapMethods("file", [HttpMethods.Get, HttpMethods.Head], DownloadAsync)
            .WithName("DownloadImageData").WithSummary("Download the image's bytes: 200, 206 for a range, 204 without data");
        return app;
    }

    private static async Task<IResult> UploadAsync(HttpContext context, string id, ImageUploads uploads, UploadTarget target)
    {
        var request = context.Request;
        if (!string.Equals(request.ContentType?.Split(';')[0].Trim(), OctetStream, StringComparison.OrdinalIgnoreCase))
        {
            throw new GlanceException(ErrorKind.UnsupportedMediaType, $"The request media type {request.ContentType} is not supported by this server.");
        }
        long? declared = null;
        if (request.Headers[SizeHeader] is { Count: > 0 } sizeHeader)
        {
            declared = long.TryParse(sizeHeader.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var size)
                ? size
                : throw GlanceException.BadRequest($"Invalid {SizeHeader} header: {sizeHeader}");
        }
        await uploads.UploadAsync(context, id, context.Caller(), target, declared ?? request.ContentLength);
        return TypedResults.NoContent();
    }

    private static async Task DownloadAsync(HttpContext context, string id, IGrainFactory grains, IImageDataStore store)
    {
        var data = await grains.Image(id).OpenDataAsync(context.Caller());
        var response = context.Response;
        if (data is null)
        {
            response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }
        var etag = new EntityTagHeaderValue($"\"{data.Checksum ?? data.DataKey}\"");
        var headers = response.GetTypedHeaders();
        headers.ETag = etag;
        headers.LastModified = data.StoredAt;
        response.Headers.AcceptRanges = "bytes";
        // The bytes of an image never change once stored, so caches may keep them as long as they
        // like; only public images may sit in shared caches.
        response.Headers.CacheControl = data.IsPublic ? "public, max-age=31536000, immutable" : "private, max-age=31536000, immutable";
        if (data.Checksum is { } md5)
        {
            response.Headers["Content-MD5"] = md5; // hex, as Glance sends it
        }
        var requestHeaders = context.Request.GetTypedHeaders();
        if (requestHeaders.IfNoneMatch is { Count: > 0 } ifNoneMatch
            && ifNoneMatch.Any(tag => tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(etag, useStrongComparison: false)))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }
        var range = ByteRange.Parse(context.Request, data.Size, etag, data.StoredAt);
        response.ContentType = OctetStream;
        long offset = 0, length = data.Size;
        if (range is { } r)
        {
            (offset, length) = (r.Start, r.Length);
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = $"bytes {r.Start}-{r.Start + r.Length - 1}/{data.Size}";
        }
        response.ContentLength = length;
        if (HttpMethods.IsHead(context.Request.Method) || length == 0)
        {
            return;
        }
        using var sent = GlanceMetrics.Download();
        await using var bytes = await store.OpenReadAsync(data.DataKey, offset, length, context.RequestAborted);
        // Read straight into the response pipe's buffers: no intermediate copy.
        // Flushing every 256 KiB (one pool block) rather than every read keeps sends large;
        // the socket write buffer (4 MiB) lets the reads run ahead of them.
        var writer = response.BodyWriter;
        var unflushed = 0;
        while (true)
        {
            var read = await bytes.ReadAsync(writer.GetMemory(CopyBuffer), context.RequestAborted);
            if (read > 0)
            {
                writer.Advance(read);
                unflushed += read;
                sent.Bytes += read;
            }
            if (read == 0 || unflushed >= FlushEvery)
            {
                var flushed = await writer.FlushAsync(context.RequestAborted);
                unflushed = 0;
                if (read == 0 || flushed.IsCanceled || flushed.IsCompleted)
                {
                    break;
                }
            }
        }
    }
}
