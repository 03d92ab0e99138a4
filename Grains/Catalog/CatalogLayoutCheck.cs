using Microsoft.Extensions.Logging;

namespace Glance.Grains.Catalog;

/// <summary>
/// Before the silo joins its cluster: records the configured layout in the catalog store when none
/// is recorded, and refuses to start when the recorded one differs. Entries are stored per shard,
/// so a silo with another layout would look for images in the wrong shards: the recorded layout is
/// the data's, and a node configured otherwise is a mistake to stop, not to paper over.
/// </summary>
public sealed class CatalogLayoutCheck(ICatalogStore store, CatalogLayout configured, ILogger<CatalogLayoutCheck> logger) : IStartupTask
{
    /// <inheritdoc />
    public async Task Execute(CancellationToken cancellationToken)
    {
        var recorded = await store.RecordLayoutAsync(configured);
        if (!recorded.SameAs(configured))
        {
            var message = $"The catalog's stored data has the layout {recorded.Shards} shards, spread per owner {recorded.SpreadPerOwner}, "
                + $"but this node is configured with {configured.Shards} shards, spread per owner {configured.SpreadPerOwner}. "
                + $"Set {CatalogOptions.Section}:Shards={recorded.Shards} and {CatalogOptions.Section}:SpreadPerOwner={recorded.SpreadPerOwner} "
                + "(every node of a cluster must use the recorded layout; changing it needs a re-index, which Glance.Orleans does not do).";
            logger.LogCritical("{Message}", message);
            throw new InvalidOperationException(message);
        }
    }
}
