using Glance.Grains.Images;

namespace Glance.Grains.Catalog;

// Plumbing between image grains and the catalog, kept out of Grains.Interfaces (the public API):
// only the service's own grains call it.

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

    /// <summary>How many images this shard lists in each status (the images gauge of <c>/metrics</c>).</summary>
    [ReadOnly, Alias("count-by-status")]
    Task<ImmutableDictionary<ImageStatus, long>> CountByStatusAsync();

    /// <summary>
    /// Up to <c>query.Limit</c> entries the caller may list, in query order, strictly after
    /// <paramref name="after"/> (the marker image) when given.
    /// </summary>
    [ReadOnly, Alias("query")]
    Task<ImmutableArray<ImageRecord>> QueryAsync(Caller caller, ImageQuery query, ImageRecord? after);
}

/// <summary>The entry a catalog shard keeps for one image: the image and its members.</summary>
[GenerateSerializer, Immutable, Alias("glance.catalog-entry")]
public sealed record CatalogEntry(
    [property: Id(0)] ImageRecord Image,
    [property: Id(1)] ImmutableDictionary<string, MemberStatus> Members,
    [property: Id(2)] long Version);
