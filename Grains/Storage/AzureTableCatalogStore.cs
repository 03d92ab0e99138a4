using System.Globalization;
using System.Text.Json;
using Glance.Grains.Catalog;

namespace Glance.Grains.Storage;

/// <summary>
/// Catalog entries in Azure Table storage (the azure profile): one entity per image in its
/// shard's partition, so a shard that activates on any silo loads all of its entries, and a
/// change rewrites one entity, version-guarded (<see cref="VersionedTable"/>).
/// </summary>
public sealed class AzureTableCatalogStore(VersionedTable table) : ICatalogStore
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<CatalogEntry>> LoadShardAsync(long shard)
    {
        var entries = new List<CatalogEntry>();
        await foreach (var payload in table.LoadAsync(Partition(shard)))
        {
            entries.Add(JsonSerializer.Deserialize<CatalogEntry>(payload, StorageJson.Options)!);
        }
        return entries;
    }

    /// <inheritdoc />
    public Task UpsertAsync(long shard, CatalogEntry entry) =>
        table.WriteAsync(Partition(shard), SqliteCatalogStore.Key(entry.Image.Id), entry.Version, JsonSerializer.SerializeToUtf8Bytes(entry, StorageJson.Options));

    /// <inheritdoc />
    public Task RemoveAsync(long shard, Guid imageId, long version) =>
        table.WriteAsync(Partition(shard), SqliteCatalogStore.Key(imageId), version, null);

    /// <inheritdoc />
    public async Task<CatalogLayout> RecordLayoutAsync(CatalogLayout layout)
    {
        // Its own partition: shard partitions are numbers, so no shard ever loads it.
        var recorded = await table.GetOrAddAsync(LayoutPartition, LayoutPartition, async () =>
        {
            var first = await table.AnyAsync() ? CatalogLayout.Default : layout;
            return new() { ["Shards"] = first.Shards, ["SpreadPerOwner"] = first.SpreadPerOwner };
        });
        return new CatalogLayout(recorded.GetInt32("Shards") ?? 0, recorded.GetInt32("SpreadPerOwner") ?? 0);
    }

    /// <summary>The stored version of an image's entry in a shard, or null when there is none (for repairs).</summary>
    public Task<(long Version, bool Live)?> VersionAsync(long shard, Guid imageId) =>
        table.VersionAsync(Partition(shard), SqliteCatalogStore.Key(imageId));

    private const string LayoutPartition = "layout";

    private static string Partition(long shard) => shard.ToString(CultureInfo.InvariantCulture);
}
