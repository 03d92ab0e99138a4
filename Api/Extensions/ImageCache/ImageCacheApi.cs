using Glance.Api.Hosting;
using Glance.Api.Identity;
using Glance.Api.Images;
using Glance.Grains.Extensions.ImageCache;
using Cache = Glance.Grains.Extensions.ImageCache.ImageCache;

namespace Glance.Api.Extensions.ImageCache;

/// <summary>
/// The image-cache extension's HTTP part: the node's cache sweep, and Glance's cache management
/// API (Image API 2.14-2.18), admin only, for the cache of the node that serves the request:
/// <c>GET /v2/cache</c>, <c>PUT|DELETE /v2/cache/{image_id}</c>, <c>DELETE /v2/cache</c>
/// (<c>x-image-cache-clear-target: cache|queue</c>), <c>POST /v2/cache/clean</c>,
/// <c>POST /v2/cache/prune</c>, and, for the whole cluster, <c>GET /v2/cache/nodes/{image_id}</c>.
/// Downloads reach the cache through <see cref="ImageCacheDownloads"/>.
/// </summary>
public sealed class ImageCacheApi : IExtensionApi
{
    private const string ClearTarget = "x-image-cache-clear-target";

    public string Alias => "image-cache";

    public void AddApi(IHostApplicationBuilder builder, Grains.Extensions.ExtensionSettings settings) =>
        builder.Services.AddHostedService<ImageCacheSweep>();

    public void MapApi(IEndpointRouteBuilder routes)
    {
        var cache = routes.MapGroup("/v2/cache").WithTags("Image cache");
        cache.MapGet("", List).RejectsBody().WithName("ListImageCache").WithSummary("Cached and queued images of this node (admin)");
        cache.MapDelete("", Clear).WithName("ClearImageCache").WithSummary("Empty this node's cache and/or queue (204; x-image-cache-clear-target)");
        cache.MapPut("{id}", QueueAsync).WithName("QueueImageCache").WithSummary("Cache an active image on this node now (202)");
        cache.MapDelete("{id}", DeleteAsync).WithName("DeleteImageCache").WithSummary("Drop an image from this node's cache and queue (204)");
        cache.MapPost("clean", Clean).WithName("CleanImageCache").WithSummary("Remove invalid entries and stalled fills (200)");
        cache.MapPost("prune", Prune).WithName("PruneImageCache").WithSummary("Evict least recently used entries down to MaxSize (200)");
        cache.MapGet("nodes/{id}", NodesAsync).RejectsBody().WithName("ListImageCacheNodes").WithSummary("The API nodes that hold the image (admin)");
    }

    private static Task List(HttpContext context, Cache cache)
    {
        ImageCachePolicy.EnsureManager(context.Caller());
        var (cached, queued) = cache.State();
        return ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("cached_images");
            foreach (var image in cached)
            {
                w.WriteStartObject();
                w.WriteString("image_id", image.ImageId);
                w.WriteNumber("hits", image.Hits);
                // Glance's form: seconds since the epoch, as a float.
                w.WriteNumber("last_accessed", image.LastAccessed.ToUnixTimeMilliseconds() / 1000.0);
                w.WriteNumber("last_modified", image.LastModified.ToUnixTimeMilliseconds() / 1000.0);
                w.WriteNumber("size", image.Size);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("queued_images");
            foreach (var image in queued)
            {
                w.WriteStringValue(image);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static IResult Clear(HttpContext context, Cache cache)
    {
        ImageCachePolicy.EnsureManager(context.Caller());
        var (clearCache, clearQueue) = context.Request.Headers[ClearTarget].ToString().Trim().ToLowerInvariant() switch
        {
            "" => (true, true),
            "cache" => (true, false),
            "queue" => (false, true),
            _ => throw GlanceException.BadRequest($"If provided '{ClearTarget}' must be 'cache', 'queue' or empty string."),
        };
        cache.Clear(clearCache, clearQueue);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> QueueAsync(HttpContext context, string id, IGrainFactory grains, Cache cache)
    {
        // As Glance: the image must be visible (404), then the caller an admin (403), then the image active (400).
        var caller = context.Caller();
        var image = await grains.Image(id).GetAsync(caller);
        ImageCachePolicy.EnsureManager(caller);
        if (image.Status != ImageStatus.Active)
        {
            throw GlanceException.BadRequest("Only images with status active can be targeted for queueing");
        }
        if (await grains.Image(id).OpenDataAsync(caller) is { } data)
        {
            cache.Queue(Guid.Parse(id), data);
        }
        return TypedResults.Accepted((string?)null);
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, string id, IGrainFactory grains, Cache cache)
    {
        var caller = context.Caller();
        // A deleted image's entry may still be removed; an id neither an image nor held is 404.
        if (!Guid.TryParse(id, out var image) || !cache.Holds(image))
        {
            await grains.Image(id).GetAsync(caller);
        }
        ImageCachePolicy.EnsureManager(caller);
        cache.Remove(image);
        return TypedResults.NoContent();
    }

    private static IResult Clean(HttpContext context, Cache cache)
    {
        ImageCachePolicy.EnsureManager(context.Caller());
        cache.Clean();
        return TypedResults.Ok();
    }

    private static IResult Prune(HttpContext context, Cache cache)
    {
        ImageCachePolicy.EnsureManager(context.Caller());
        var (files, bytes) = cache.Prune();
        return TypedResults.Json(new { total_files_pruned = files, total_bytes_pruned = bytes });
    }

    private static async Task NodesAsync(HttpContext context, string id, IGrainFactory grains)
    {
        var caller = context.Caller();
        ImageCachePolicy.EnsureManager(caller);
        await grains.Image(id).GetAsync(caller);
        var holders = await grains.GetGrain<IImageCacheNodesGrain>(Guid.Parse(id)).GetAsync();
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartArray();
            foreach (var node in holders.Nodes)
            {
                w.WriteStringValue(node);
            }
            w.WriteEndArray();
        });
    }
}

/// <summary>Where a download reads its bytes: this node's cache when the extension is on, else the store.</summary>
public static class ImageCacheDownloads
{
    /// <summary>The range of the image's bytes the image grain allowed (<paramref name="data"/>).</summary>
    public static Task<Stream> OpenReadAsync(HttpContext context, string id, Grains.Images.ImageData data, long offset, long length, Grains.Storage.IImageDataStore store) =>
        context.RequestServices.GetService<Cache>() is { } cache
            ? cache.OpenReadAsync(id, data, offset, length, context.RequestAborted)
            : store.OpenReadAsync(data.DataKey, offset, length, context.RequestAborted);
}
