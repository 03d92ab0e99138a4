using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Glance.Grains.Catalog;

namespace Glance.Grains.Storage;

/// <summary>
/// Catalog entries in Azure Table storage (the azure profile): one entity per image in its
/// shard's partition, so a shard that activates on any silo loads all of its entries, and a
/// change rewrites one entity. Writes are version-guarded with the entity's ETag: an older
/// version never replaces a newer one, whichever silo writes.
/// </summary>
public sealed class AzureTableCatalogStore(TableClient table) : ICatalogStore
{
    // A table property holds at most 64 KiB; an entity 1 MiB. An entry (an image's summary,
    // metadata capped at 128 KiB by ImageQuotaOptions) is split over binary properties.
    private const int ChunkBytes = 60 * 1024;
    private const string VersionProperty = "Version";
    private const string LiveProperty = "Live";
    private const string ChunksProperty = "Chunks";
    private readonly Lazy<Task> _created = new(() => table.CreateIfNotExistsAsync());

    /// <inheritdoc />
    public async Task<IReadOnlyList<CatalogEntry>> LoadShardAsync(long shard)
    {
        await _created.Value;
        var entries = new List<CatalogEntry>();
        await foreach (var entity in table.QueryAsync<TableEntity>(
                           e => e.PartitionKey == Partition(shard) && e.GetBoolean(LiveProperty) == true))
        {
            entries.Add(JsonSerializer.Deserialize<CatalogEntry>(Join(entity), StorageJson.Options)!);
        }
        return entries;
    }

    /// <inheritdoc />
    public Task UpsertAsync(long shard, CatalogEntry entry) =>
        WriteAsync(shard, entry.Image.Id, entry.Version, JsonSerializer.SerializeToUtf8Bytes(entry, StorageJson.Options));

    /// <inheritdoc />
    public Task RemoveAsync(long shard, Guid imageId, long version) => WriteAsync(shard, imageId, version, null);

    /// <summary>The stored version of an image's entry in a shard, or null when there is none (for repairs).</summary>
    public async Task<(long Version, bool Live)?> VersionAsync(long shard, Guid imageId)
    {
        await _created.Value;
        var stored = await table.GetEntityIfExistsAsync<TableEntity>(Partition(shard), SqliteCatalogStore.Key(imageId), [VersionProperty, LiveProperty]);
        return stored.HasValue && stored.Value is { } entity
            ? (entity.GetInt64(VersionProperty) ?? 0, entity.GetBoolean(LiveProperty) ?? false)
            : null;
    }

    private async Task WriteAsync(long shard, Guid imageId, long version, byte[]? entry)
    {
        await _created.Value;
        var entity = new TableEntity(Partition(shard), SqliteCatalogStore.Key(imageId))
        {
            [VersionProperty] = version,
            [LiveProperty] = entry is not null,
        };
        if (entry is not null)
        {
            var chunks = entry.Chunk(ChunkBytes).ToArray();
            entity[ChunksProperty] = chunks.Length;
            for (var i = 0; i < chunks.Length; i++)
            {
                entity[$"Entry{i}"] = chunks[i];
            }
        }
        // Read the stored version, then write only if it is older, conditional on the ETag read:
        // a concurrent writer makes the write fail (412/409) and the loop look again.
        while (true)
        {
            var stored = await table.GetEntityIfExistsAsync<TableEntity>(entity.PartitionKey, entity.RowKey, [VersionProperty]);
            try
            {
                if (!stored.HasValue || stored.Value is null)
                {
                    await table.AddEntityAsync(entity);
                }
                else if ((stored.Value.GetInt64(VersionProperty) ?? 0) < version)
                {
                    await table.UpdateEntityAsync(entity, stored.Value.ETag, TableUpdateMode.Replace);
                }
                return;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412)
            {
                // Someone wrote in between: compare with what they wrote.
            }
        }
    }

    private static string Partition(long shard) => shard.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static byte[] Join(TableEntity entity)
    {
        var count = entity.GetInt32(ChunksProperty) ?? 0;
        using var joined = new MemoryStream();
        for (var i = 0; i < count; i++)
        {
            joined.Write(entity.GetBinary($"Entry{i}"));
        }
        return joined.ToArray();
    }
}
