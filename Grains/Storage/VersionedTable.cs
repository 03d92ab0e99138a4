using Azure;
using Azure.Data.Tables;

namespace Glance.Grains.Storage;

/// <summary>
/// Index entries in an Azure Table (the azure profile's catalog and task index): one entity per
/// entry in its shard's partition, carrying the entry's version and its JSON. A write is
/// version-guarded with the entity's ETag, so an older version never replaces a newer one,
/// whichever node writes; a removal keeps a tombstone with its version for the same reason.
/// </summary>
public sealed class VersionedTable(TableClient table)
{
    // A table property holds at most 64 KiB, an entity 1 MiB: the JSON is split over binary properties.
    private const int ChunkBytes = 60 * 1024;
    private const string VersionProperty = "Version";
    private const string LiveProperty = "Live";
    private const string ChunksProperty = "Chunks";
    private readonly Lazy<Task> _created = new(() => table.CreateIfNotExistsAsync());

    /// <summary>The payloads of a partition's live entries.</summary>
    public async IAsyncEnumerable<byte[]> LoadAsync(string partition)
    {
        await _created.Value;
        await foreach (var entity in table.QueryAsync<TableEntity>(e => e.PartitionKey == partition && e.GetBoolean(LiveProperty) == true))
        {
            yield return Join(entity);
        }
    }

    /// <summary>The stored version of an entry and whether it is live; null when there is none.</summary>
    public async Task<(long Version, bool Live)?> VersionAsync(string partition, string row)
    {
        await _created.Value;
        var stored = await table.GetEntityIfExistsAsync<TableEntity>(partition, row, [VersionProperty, LiveProperty]);
        return stored.HasValue && stored.Value is { } entity
            ? (entity.GetInt64(VersionProperty) ?? 0, entity.GetBoolean(LiveProperty) ?? false)
            : null;
    }

    /// <summary>Stores <paramref name="payload"/> (null: a tombstone) at <paramref name="version"/> unless a newer or equal version is stored.</summary>
    public async Task WriteAsync(string partition, string row, long version, byte[]? payload)
    {
        await _created.Value;
        var entity = new TableEntity(partition, row)
        {
            [VersionProperty] = version,
            [LiveProperty] = payload is not null,
        };
        if (payload is not null)
        {
            var chunks = payload.Chunk(ChunkBytes).ToArray();
            entity[ChunksProperty] = chunks.Length;
            for (var i = 0; i < chunks.Length; i++)
            {
                entity[$"Entry{i}"] = chunks[i];
            }
        }
        // Read the stored version, then write only if it is older, conditional on the ETag read:
        // a concurrent writer makes the write fail (409/412) and the loop look again.
        while (true)
        {
            var stored = await table.GetEntityIfExistsAsync<TableEntity>(partition, row, [VersionProperty]);
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

    /// <summary>Whether the table holds any entity at all.</summary>
    public async Task<bool> AnyAsync()
    {
        await _created.Value;
        await foreach (var _ in table.QueryAsync<TableEntity>(select: [VersionProperty], maxPerPage: 1))
        {
            return true;
        }
        return false;
    }

    /// <summary>
    /// The entity at <paramref name="partition"/>/<paramref name="row"/>; when there is none, first adds
    /// the properties <paramref name="candidate"/> makes (the first writer wins: a concurrent add loses).
    /// </summary>
    public async Task<TableEntity> GetOrAddAsync(string partition, string row, Func<Task<Dictionary<string, object>>> candidate)
    {
        await _created.Value;
        while (true)
        {
            var stored = await table.GetEntityIfExistsAsync<TableEntity>(partition, row);
            if (stored.HasValue && stored.Value is { } existing)
            {
                return existing;
            }
            try
            {
                await table.AddEntityAsync(new TableEntity(await candidate()) { PartitionKey = partition, RowKey = row });
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                // Another node added it first: read theirs.
            }
        }
    }

    /// <summary>Deletes an entry outright (an expired task's, which no late write can revive).</summary>
    public async Task DeleteAsync(string partition, string row)
    {
        await _created.Value;
        await table.DeleteEntityAsync(partition, row, ETag.All);
    }

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
