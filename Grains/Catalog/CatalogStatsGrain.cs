namespace Glance.Grains.Catalog;

// Plumbing for the metrics, kept out of Grains.Interfaces: a caller outside the silo (an API node)
// need not know the layout, the silo answers with its own.

/// <summary>What the catalog's shards hold, for the metrics.</summary>
[Alias("glance.ICatalogStatsGrain"), Hosting.ServiceNodesOnly]
public interface ICatalogStatsGrain : IGrainWithIntegerKey
{
    /// <summary>For each shard (index = shard key), how many images it lists in each status.</summary>
    [ReadOnly, Alias("count-by-shard")]
    Task<ImmutableArray<ImmutableDictionary<ImageStatus, long>>> CountByShardAsync();
}

/// <summary>Asks every shard of the silo's layout. Stateless, so each silo runs its own copies.</summary>
[GrainType("glance.catalog-stats")]
[StatelessWorker]
public sealed class CatalogStatsGrain(CatalogLayout layout) : Grain, ICatalogStatsGrain
{
    async Task<ImmutableArray<ImmutableDictionary<ImageStatus, long>>> ICatalogStatsGrain.CountByShardAsync() =>
        [.. await Task.WhenAll(layout.All.Select(s => GrainFactory.GetGrain<ICatalogShardGrain>(s).CountByStatusAsync()))];
}
