using Microsoft.Extensions.DependencyInjection;

namespace Glance.Grains.Extensions.ImageCache;

/// <summary>
/// Marks an image purged in the cluster (<see cref="IImageCacheNodesGrain"/>) once its deletion
/// succeeds, whoever deleted it (HTTP on any node, or a direct grain caller): every node's sweep,
/// and its next download of the image, drop their copy.
/// </summary>
internal sealed class ImageCachePurgeFilter(IGrainFactory grains) : PublicGrainCallFilter
{
    protected override async Task OnPublicCallAsync(IIncomingGrainCallContext context)
    {
        await context.Invoke();
        if (context.InterfaceMethod.DeclaringType == typeof(IImageGrain) && context.InterfaceMethod.Name == nameof(IImageGrain.DeleteAsync))
        {
            await grains.GetGrain<IImageCacheNodesGrain>(context.TargetId.GetGuidKey()).PurgeAsync();
        }
    }
}

/// <summary>
/// Keeps this node's cache in step with the images it calls: once a delete it sent succeeds, the
/// image's entry goes here at once; an image that turns out deleted when a download asks for it
/// is dropped too. An outgoing filter, so it sees the calls of the node that serves the request,
/// wherever the image grain lives.
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
