namespace Glance.Grains.Extensions.ImageCache;

/// <summary>
/// Which API nodes hold an image's bytes in their cache, keyed by image id: what Glance's
/// per-node caches never knew (<c>GET /v2/cache/nodes/{image_id}</c>). Nodes report their fills
/// and evictions; the image's deletion marks it purged, which the other nodes' sweeps act on.
/// Internal to the image-cache extension.
/// </summary>
[Alias("glance.IImageCacheNodesGrain"), Hosting.ServiceNodesOnly]
public interface IImageCacheNodesGrain : IGrainWithGuidKey
{
    /// <summary>Records that <paramref name="node"/> holds the image.</summary>
    [Alias("add")]
    Task AddAsync(string node);

    /// <summary>Records that <paramref name="node"/> no longer holds it.</summary>
    [Alias("remove")]
    Task RemoveAsync(string node);

    /// <summary>The nodes that hold it, and whether the image was deleted.</summary>
    [Alias("get")]
    Task<ImageCacheHolders> GetAsync();

    /// <summary>The image was deleted: every node is to drop it.</summary>
    [Alias("purge")]
    Task PurgeAsync();
}

/// <summary>The nodes holding an image, by name, and whether it was deleted (purged).</summary>
[GenerateSerializer, Immutable, Alias("glance.image-cache-holders")]
public sealed record ImageCacheHolders([property: Id(0)] ImmutableArray<string> Nodes, [property: Id(1)] bool Purged);

/// <summary>The stored form of <see cref="IImageCacheNodesGrain"/>.</summary>
public sealed class ImageCacheNodesState
{
    /// <summary>Nodes holding the image.</summary>
    public List<string> Nodes { get; set; } = [];

    /// <summary>True once the image was deleted.</summary>
    public bool Purged { get; set; }
}

/// <inheritdoc cref="IImageCacheNodesGrain" />
[GrainType("glance.image-cache-nodes")]
internal sealed class ImageCacheNodesGrain(
    [PersistentState("image-cache-nodes", Storage.GlanceStorage.ProviderName)] IPersistentState<ImageCacheNodesState> state) : Grain, IImageCacheNodesGrain
{
    public Task AddAsync(string node)
    {
        if (state.State.Purged || state.State.Nodes.Contains(node))
        {
            return Task.CompletedTask;
        }
        state.State.Nodes.Add(node);
        return state.WriteStateAsync();
    }

    public Task RemoveAsync(string node) => state.State.Nodes.Remove(node) ? state.WriteStateAsync() : Task.CompletedTask;

    public Task<ImageCacheHolders> GetAsync() => Task.FromResult(new ImageCacheHolders([.. state.State.Nodes], state.State.Purged));

    public Task PurgeAsync()
    {
        if (state.State.Purged && state.State.Nodes.Count == 0)
        {
            return Task.CompletedTask;
        }
        state.State.Purged = true;
        state.State.Nodes.Clear();
        return state.WriteStateAsync();
    }
}
