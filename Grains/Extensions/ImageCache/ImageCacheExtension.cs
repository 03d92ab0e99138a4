using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Hosting;

namespace Glance.Grains.Extensions.ImageCache;

/// <summary>
/// A bounded on-disk cache of image bytes on each API node (<see cref="ImageCache"/>), filled
/// while downloads stream, verified against the image's md5, LRU-evicted, kept across restarts;
/// the cluster knows which nodes hold which image (<see cref="IImageCacheNodesGrain"/>). Every
/// download still asks the image grain first: only bytes are cached. On by default in the azure
/// profile (where the store is remote), off in the embedded one. The Api's part serves Glance's
/// cache management API, <c>/v2/cache</c>.
/// </summary>
public sealed class ImageCacheExtension : GlanceExtension
{
    public override string Alias => "image-cache";
    public override string Name => "Image cache";
    public override string Description => "A bounded, LRU, restart-surviving cache of image bytes on each API node, filled while downloads stream (single-flight, md5-verified); the cluster knows which nodes hold an image. Glance's cache management API at /v2/cache.";
    public override DateTimeOffset Updated => new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    public override ExtensionKind Kind => ExtensionKind.Transparent;

    public override bool EnabledByDefault(ExtensionSettings settings) => settings.Host.IsAzure;

    public override void AddServices(IServiceCollection services, ExtensionSettings settings)
    {
        services.AddOptions<ImageCacheOptions>().Bind(settings.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ImageCacheOptions>, ImageCacheOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ImageCache>(sp, settings.Host));
    }

    public override void AddSiloParts(ISiloBuilder silo, ExtensionSettings settings)
    {
        silo.AddIncomingGrainCallFilter<ImageCachePurgeFilter>();
        silo.AddOutgoingGrainCallFilter<ImageCacheFilter>();
    }

    // The cache lives on the API nodes: a stateless one's deletes and downloads go out through its client.
    public override void AddClientParts(IClientBuilder client, ExtensionSettings settings) =>
        client.AddOutgoingGrainCallFilter<ImageCacheFilter>();
}
