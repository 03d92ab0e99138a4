using Microsoft.Extensions.DependencyInjection;

namespace Glance.Grains.Extensions.ImageCache;

/// <summary>
/// Marks an image purged in the cluster (<see cref="IImageCacheNodesGrain"/>) once its deletion
/// succeeds, whoever deleted it (HTTP on any node, or a direct grain caller): every node's sweep,
/// and its next download of the image, drop their copy.
/// </summary>
internal sealed class ImageCachePurgeFilter(IGrainFactory grains) : PublicGrainCallFilter
{
    // Every public call passes here: anything but a delete goes straight on (no async step added).
    protected override Task OnPublicCallAsync(IIncomingGrainCallContext context) =>
        context.InterfaceMethod.DeclaringType == typeof(IImageGrain) && context.InterfaceMethod.Name == nameof(IImageGrain.DeleteAsync)
            ? DeleteAndPurgeAsync(context)
            : context.Invoke();

    private async Task DeleteAndPurgeAsync(IIncomingGrainCallContext context)
    {
        await context.Invoke();
        await grains.GetGrain<IImageCacheNodesGrain>(context.TargetId.GetGuidKey()).PurgeAsync();
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
    // Every call this node makes passes here: only an image's delete and data opening take the async path.
    public Task Invoke(IOutgoingGrainCallContext context) =>
        context.InterfaceMethod?.DeclaringType == typeof(IImageGrain)
            && context.InterfaceMethod.Name is nameof(IImageGrain.DeleteAsync) or nameof(IImageGrain.OpenDataAsync)
            ? ImageCallAsync(context)
            : context.Invoke();

    private async Task ImageCallAsync(IOutgoingGrainCallContext context)
    {
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
