using Glance.Grains.Images;

namespace Glance.Grains.Catalog;

// Plumbing between image grains and the catalog, kept out of Grains.Interfaces (the public API):
// only the service's own grains call it.

/// <summary>
/// One shard of the image index. Image grains keep their entries current; entries carry
/// the image's version, so a late or repeated update never overwrites a newer one.
/// </summary>
[Alias("glance.ICatalogShardGrain"), Hosting.SiloOnly]
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
    /// What <paramref name="owner"/>'s images in this shard count for the quotas extension, leaving
    /// out <paramref name="excluded"/> (images whose share a reservation stands for while it is held).
    /// </summary>
    [ReadOnly, Alias("project-usage")]
    Task<ProjectUsage> ProjectUsageAsync(string owner, ImmutableArray<Guid> excluded);

    /// <summary>
    /// Up to <c>query.Limit</c> entries the caller may list, in query order, strictly after
    /// <paramref name="after"/> (the marker image) when given.
    /// </summary>
    [ReadOnly, Alias("query")]
    Task<ImmutableArray<ImageRecord>> QueryAsync(Caller caller, ImageQuery query, ImageRecord? after);
}

/// <summary>
/// A project's images as Glance's unified limits count them: how many; bytes of data in the store
/// (every status but staging and importing); bytes staged (uploading, importing); how many are
/// being uploaded, staged or imported (saving, uploading, importing).
/// </summary>
[GenerateSerializer, Immutable, Alias("glance.project-usage")]
public sealed record ProjectUsage(
    [property: Id(0)] long Images,
    [property: Id(1)] long Bytes,
    [property: Id(2)] long StagedBytes,
    [property: Id(3)] long Uploading)
{
    /// <summary>Nothing.</summary>
    public static ProjectUsage None { get; } = new(0, 0, 0, 0);

    /// <summary>Both together.</summary>
    public static ProjectUsage operator +(ProjectUsage a, ProjectUsage b) =>
        new(a.Images + b.Images, a.Bytes + b.Bytes, a.StagedBytes + b.StagedBytes, a.Uploading + b.Uploading);

    /// <summary>The first without the second.</summary>
    public static ProjectUsage operator -(ProjectUsage a, ProjectUsage b) =>
        new(a.Images - b.Images, a.Bytes - b.Bytes, a.StagedBytes - b.StagedBytes, a.Uploading - b.Uploading);

    /// <summary>One image's share.</summary>
    public static ProjectUsage Of(ImageRecord image)
    {
        var staging = image.Status is ImageStatus.Uploading or ImageStatus.Importing;
        return new(1, staging ? 0 : image.Size ?? 0, staging ? image.Size ?? 0 : 0,
            image.Status is ImageStatus.Saving or ImageStatus.Uploading or ImageStatus.Importing ? 1 : 0);
    }
}

/// <summary>The entry a catalog shard keeps for one image: the image and its members.</summary>
[GenerateSerializer, Immutable, Alias("glance.catalog-entry")]
public sealed record CatalogEntry(
    [property: Id(0)] ImageRecord Image,
    [property: Id(1)] ImmutableDictionary<string, MemberStatus> Members,
    [property: Id(2)] long Version)
{
    /// <summary>
    /// Set by a store whose write of this entry was cut short (its rows may mix two versions): the
    /// shard that loads it asks the image to publish again. Never stored.
    /// </summary>
    [Id(3), System.Text.Json.Serialization.JsonIgnore]
    public bool Unsettled { get; init; }
}
