using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Glance.Grains.Catalog;

namespace Glance.Grains.Storage;

/// <summary>
/// Catalog entries in Azure Table storage (the azure profile), in their shard's partition, so a
/// shard that activates on any silo loads all of its entries: per image an entry entity (the
/// core, version-guarded, <see cref="VersionedTable"/>) and one entity per additional property
/// (<see cref="CatalogRows"/>), so a write changes only the properties that differ.
/// </summary>
public sealed class AzureTableCatalogStore(VersionedTable table) : ICatalogStore
{
    // A property's row: the image's key, a separator no key contains, then the name's UTF-8 in hex
    // (a row key may not hold / \ # ? or control characters), or for names too long for a row key
    // (1 KiB), a hash of it. The name itself is a property of the entity.
    private const string Separator = "-";
    private const string AfterSeparator = ".";
    private const int MaxHexNameBytes = 256;
    private const string NameProperty = "Name";
    private const string AccessProperty = "Access";
    // What a write compares, instead of reading every value back.
    private const string DigestProperty = "Digest";

    /// <inheritdoc />
    public async Task<IReadOnlyList<CatalogEntry>> LoadShardAsync(long shard)
    {
        var cores = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var unsettled = new HashSet<string>(StringComparer.Ordinal);
        var rows = new Dictionary<string, List<KeyValuePair<string, CatalogRows.Property>>>(StringComparer.Ordinal);
        await foreach (var entity in table.PartitionAsync(Partition(shard), NameProperty))
        {
            if (VersionedTable.IsEntry(entity))
            {
                if (VersionedTable.IsLive(entity))
                {
                    cores[entity.RowKey] = VersionedTable.Payload(entity);
                    if (VersionedTable.IsPending(entity))
                    {
                        unsettled.Add(entity.RowKey);
                    }
                }
            }
            else if (entity.GetString(NameProperty) is { } name)
            {
                var key = entity.RowKey[..entity.RowKey.IndexOf(Separator, StringComparison.Ordinal)];
                (rows.TryGetValue(key, out var list) ? list : rows[key] = []).Add(new(name,
                    CatalogRows.Property.Of(Encoding.UTF8.GetString(VersionedTable.Payload(entity)), entity.GetString(AccessProperty))));
            }
        }
        return [.. cores.Select(core => CatalogRows.Join(Encoding.UTF8.GetString(core.Value), rows.GetValueOrDefault(core.Key) ?? [])
            is var entry && unsettled.Contains(core.Key) ? entry with { Unsettled = true } : entry)];
    }

    /// <inheritdoc />
    public Task UpsertAsync(long shard, CatalogEntry entry)
    {
        var (core, properties) = CatalogRows.Split(entry);
        return Write(shard, entry.Image.Id, entry.Version, Encoding.UTF8.GetBytes(core), properties);
    }

    /// <inheritdoc />
    public Task RemoveAsync(long shard, Guid imageId, long version) =>
        Write(shard, imageId, version, null, new Dictionary<string, CatalogRows.Property>());

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

    private Task Write(long shard, Guid imageId, long version, byte[]? core, IReadOnlyDictionary<string, CatalogRows.Property> properties)
    {
        var partition = Partition(shard);
        var key = SqliteCatalogStore.Key(imageId);
        var wanted = properties.ToDictionary(p => PropertyRow(key, p.Key), p => Entity(partition, key, p.Key, p.Value), StringComparer.Ordinal);
        return table.WriteAsync(partition, key, version, core, new(key + Separator, key + AfterSeparator, [DigestProperty], stored =>
        {
            var changes = new List<TableTransactionAction>();
            var unwritten = new Dictionary<string, TableEntity>(wanted, StringComparer.Ordinal);
            foreach (var row in stored)
            {
                if (!unwritten.Remove(row.RowKey, out var property))
                {
                    changes.Add(new(TableTransactionActionType.Delete, new TableEntity(partition, row.RowKey), row.ETag));
                }
                else if (row.GetString(DigestProperty) != property.GetString(DigestProperty))
                {
                    changes.Add(new(TableTransactionActionType.UpsertReplace, property));
                }
            }
            changes.AddRange(unwritten.Values.Select(property => new TableTransactionAction(TableTransactionActionType.UpsertReplace, property)));
            return changes;
        }));
    }

    private static TableEntity Entity(string partition, string key, string name, CatalogRows.Property property)
    {
        var access = property.AccessJson;
        var entity = new TableEntity(partition, PropertyRow(key, name))
        {
            [NameProperty] = name,
            [DigestProperty] = Convert.ToBase64String(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(new[] { property.Value, access }))),
        };
        if (access is not null)
        {
            entity[AccessProperty] = access;
        }
        VersionedTable.SetPayload(entity, Encoding.UTF8.GetBytes(property.Value));
        return entity;
    }

    private static string PropertyRow(string key, string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        return key + Separator + (bytes.Length <= MaxHexNameBytes ? Convert.ToHexStringLower(bytes) : "~" + Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private static string Partition(long shard) => shard.ToString(CultureInfo.InvariantCulture);
}
