using Microsoft.Extensions.DependencyInjection;

namespace Glance.Grains.Extensions.ImageCache;

/// <summary>
/// Keeps this node's cache in step with the images it calls: once a delete it sent succeeds, the
/// image's entry goes here at once and the cluster marks it purged (the other nodes drop it at
/// their next sweep); an image that turns out gone when a download asks for it is dropped too.
/// An outgoing filter, so it sees the calls of the node that serves the request, wherever the
/// image grain lives.
/// </summary>
internal sealed class ImageCacheFilter(IServiceProvider services) : IOutgoingGrainCallFilter
{
    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        if (context.InterfaceMethod?.DeclaringType != typeof(IImageGrain))
        {
            await context.Invoke();
            return;
        }
        var image = context.TargetId.GetGuidKey();
        switch (context.InterfaceMethod.Name)
        {
            case nameof(IImageGrain.DeleteAsync):
                await context.Invoke();
                services.GetRequiredService<ImageCache>().Remove(image);
                await services.GetRequiredService<IGrainFactory>().GetGrain<IImageCacheNodesGrain>(image).PurgeAsync();
                break;
            case nameof(IImageGrain.OpenDataAsync):
                try
                {
                    await context.Invoke();
                }
                catch (GlanceException e) when (e.Kind == ErrorKind.NotFound && services.GetRequiredService<ImageCache>().Holds(image))
                {
                    // Not found may only mean "not yours": drop it only when the cluster says it was deleted.
                    if ((await services.GetRequiredService<IGrainFactory>().GetGrain<IImageCacheNodesGrain>(image).GetAsync()).Purged)
                    {
                        services.GetRequiredService<ImageCache>().Remove(image);
                    }
                    throw;
                }
                break;
            default:
                await context.Invoke();
                break;
        }
    }
}
