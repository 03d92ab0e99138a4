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
