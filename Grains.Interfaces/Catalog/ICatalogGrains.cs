using Glance.Grains.Identity;
using Glance.Grains.Images;

namespace Glance.Grains.Catalog;

/// <summary>
/// Lists images without activating image grains: fans a query out to the catalog
/// shards and merges their pages. A stateless worker, so every silo answers locally.
/// </summary>
[Alias("glance.IImageCatalogGrain")]
public interface IImageCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>One page of the images the caller may list, in the query's order.</summary>
    [Alias("list")]
    Task<ImmutableArray<ImageRecord>> ListAsync(Caller caller, ImageQuery query);
}

/// <summary>
/// One shard of the image index. Image grains keep their entries current; entries carry
/// the image's version, so a late or repeated update never overwrites a newer one.
/// </summary>
[Alias("glance.ICatalogShardGrain")]
public interface ICatalogShardGrain : IGrainWithIntegerKey
{
    /// <summary>Stores an image's entry unless the shard already has a newer version.</summary>
    [Alias("upsert")]
    Task UpsertAsync(CatalogEntry entry);

    /// <summary>Drops an image (deleted) unless the shard already has a newer version.</summary>
    [Alias("remove")]
    Task RemoveAsync(Guid imageId, long version);

    /// <summary>Bytes of image data this shard holds for <paramref name="owner"/> (for the storage quota).</summary>
    [ReadOnly, Alias("usage")]
    Task<long> UsageAsync(string owner);

    /// <summary>
    /// Up to <c>query.Limit</c> entries the caller may list, in query order, strictly after
    /// <paramref name="after"/> (the marker image) when given.
    /// </summary>
    [ReadOnly, Alias("query")]
    Task<ImmutableArray<ImageRecord>> QueryAsync(Caller caller, ImageQuery query, ImageRecord? after);
}
