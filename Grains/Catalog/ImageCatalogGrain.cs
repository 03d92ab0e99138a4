namespace Glance.Grains.Catalog;

/// <summary>
/// Answers list requests by asking every catalog shard for its first page after the
/// marker and merging the pages. Stateless, so each silo runs its own local copies.
/// </summary>
[GrainType("glance.image-catalog")]
[StatelessWorker]
public sealed class ImageCatalogGrain : Grain, IImageCatalogGrain
{
    async Task<ImmutableArray<ImageRecord>> IImageCatalogGrain.ListAsync(Caller caller, ImageQuery query)
    {
        if (query.Limit <= 0)
        {
            return [];
        }
        var after = query.Marker is { } marker ? await MarkerAsync(caller, marker) : null;
        var pages = await Task.WhenAll(this.CatalogShards().All.Select(
            shard => GrainFactory.GetGrain<ICatalogShardGrain>(shard).QueryAsync(caller, query, after)));
        var ordering = new ImageOrdering(query.Sort);
        return [.. pages.SelectMany(p => p).Order(ordering).Take(Math.Min(query.Limit, ImageQuery.MaxLimit))];
    }

    private async Task<ImageRecord> MarkerAsync(Caller caller, Guid marker)
    {
        try
        {
            return await GrainFactory.GetGrain<IImageGrain>(marker).GetAsync(caller);
        }
        catch (GlanceException e) when (e.Kind == ErrorKind.NotFound)
        {
            throw GlanceException.BadRequest($"marker {marker} could not be found.");
        }
    }
}
