using Azure;
using Azure.Data.Tables;

namespace Glance.Grains.Storage;

/// <summary>
/// Index entries in an Azure Table (the azure profile's catalog, task and template indexes): one entity per
/// entry in its shard's partition, carrying the entry's version and its JSON. A write is
/// version-guarded with the entity's ETag, so an older version never replaces a newer one,
/// whichever node writes; a removal keeps a tombstone with its version for the same reason.
/// An entry may own further entities in its partition (<see cref="Dependents"/>, the catalog's
/// properties), written with it and only where they changed.
/// </summary>
public sealed class VersionedTable(TableClient table)
{
    // A table property holds at most 64 KiB, an entity 1 MiB: the JSON is split over binary properties.
    private const int ChunkBytes = 60 * 1024;
    private const string VersionProperty = "Version";
    private const string LiveProperty = "Live";
    private const string ChunksProperty = "Chunks";
    private const string PendingProperty = "Pending";
    private readonly TableCreation _created = new(table);

    /// <summary>The payloads of a partition's live entries.</summary>
    public async IAsyncEnumerable<byte[]> LoadAsync(string partition)
    {
        await _created.EnsureAsync();
        await foreach (var entity in table.QueryAsync<TableEntity>(e => e.PartitionKey == partition && e.GetBoolean(LiveProperty) == true))
        {
            yield return Payload(entity);
        }
    }

    /// <summary>The stored version of an entry and whether it is live; null when there is none.</summary>
    public async Task<(long Version, bool Live)?> VersionAsync(string partition, string row)
    {
        await _created.EnsureAsync();
        var stored = await table.GetEntityIfExistsAsync<TableEntity>(partition, row, [VersionProperty, LiveProperty]);
        return stored.HasValue && stored.Value is { } entity
            ? (entity.GetInt64(VersionProperty) ?? 0, entity.GetBoolean(LiveProperty) ?? false)
            : null;
    }

    /// <summary>
    /// Stores <paramref name="payload"/> (null: a tombstone) at <paramref name="version"/> unless a newer or equal version is
    /// stored, and with it the entities the entry owns (<paramref name="dependents"/>), changed only where they differ.
    /// </summary>
    public async Task WriteAsync(string partition, string row, long version, byte[]? payload, Dependents? dependents = null)
    {
        await _created.EnsureAsync();
        var entity = new TableEntity(partition, row)
        {
            [VersionProperty] = version,
            [LiveProperty] = payload is not null,
        };
        if (payload is not null)
        {
            SetPayload(entity, payload);
        }
        // Read the stored version, then write only if it is older, conditional on the ETag read:
        // a concurrent writer makes the write fail (409/412, or 404 for a dependent it deleted)
        // and the loop look again.
        while (true)
        {
            var stored = await table.GetEntityIfExistsAsync<TableEntity>(partition, row, [VersionProperty]);
            var current = stored.HasValue ? stored.Value : null;
            if (current is not null && (current.GetInt64(VersionProperty) ?? 0) >= version)
            {
                return;
            }
            var changes = dependents is null ? [] : dependents.Changes(await ReadAsync(partition, dependents));
            try
            {
                await CommitAsync(entity, current?.ETag, changes);
                return;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412 || (e.Status == 404 && dependents is not null))
            {
                // Someone wrote in between: compare with what they wrote.
            }
        }
    }

    /// <summary>
    /// Entities an entry owns in its partition, rows <see cref="From"/> (inclusive) to <see cref="To"/> (exclusive):
    /// a write reads them (their row keys, ETags and the <see cref="Select"/>ed properties) and <see cref="Changes"/>
    /// returns the actions that make them what the written entry needs.
    /// </summary>
    public sealed record Dependents(
        string From, string To, IReadOnlyList<string> Select,
        Func<IReadOnlyList<TableEntity>, IReadOnlyList<TableTransactionAction>> Changes);

    /// <summary>
    /// A partition's live entries and every entity carrying <paramref name="dependentProperty"/> (the
    /// entries' dependents); tombstones stay on the server, so a load does not grow with deletions.
    /// </summary>
    public async IAsyncEnumerable<TableEntity> PartitionAsync(string partition, string dependentProperty)
    {
        await _created.EnsureAsync();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition}") + $" and ({LiveProperty} eq true or {dependentProperty} ge '')";
        await foreach (var entity in table.QueryAsync<TableEntity>(filter))
        {
            yield return entity;
        }
    }

    /// <summary>Whether an entity is an entry or a tombstone (not one of an entry's dependents).</summary>
    public static bool IsEntry(TableEntity entity) => entity.ContainsKey(LiveProperty);

    /// <summary>Whether an entry's last write was cut short between its transactions (its dependents may be newer than it).</summary>
    public static bool IsPending(TableEntity entity) => entity.GetInt64(PendingProperty) is long pending && pending > (entity.GetInt64(VersionProperty) ?? 0);

    /// <summary>Whether an entity is a live entry.</summary>
    public static bool IsLive(TableEntity entity) => entity.GetBoolean(LiveProperty) == true;

    /// <summary>Stores bytes on an entity, split over binary properties (one holds at most 64 KiB).</summary>
    public static void SetPayload(TableEntity entity, byte[] payload)
    {
        var chunks = payload.Chunk(ChunkBytes).ToArray();
        entity[ChunksProperty] = chunks.Length;
        for (var i = 0; i < chunks.Length; i++)
        {
            entity[$"Entry{i}"] = chunks[i];
        }
    }

    /// <summary>The bytes <see cref="SetPayload"/> stored.</summary>
    public static byte[] Payload(TableEntity entity)
    {
        var count = entity.GetInt32(ChunksProperty) ?? 0;
        using var joined = new MemoryStream();
        for (var i = 0; i < count; i++)
        {
            joined.Write(entity.GetBinary($"Entry{i}"));
        }
        return joined.ToArray();
    }

    private async Task<List<TableEntity>> ReadAsync(string partition, Dependents dependents)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {dependents.From} and RowKey lt {dependents.To}");
        var stored = new List<TableEntity>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, select: ["RowKey", .. dependents.Select]))
        {
            stored.Add(entity);
        }
        return stored;
    }

    // The changes go in transactions (at most 100 actions, 4 MiB), each also writing the entry,
    // conditional on the ETag the previous one left: a concurrent writer's transaction makes every
    // later one of ours fail (and ours theirs), so two writers' dependents never mix. Until the last
    // writes the entry (the commit point), it keeps its older version, marked Pending, which the
    // cluster repair finds behind; a retry starts over from what the earlier batches wrote.
    private async Task CommitAsync(TableEntity entity, ETag? etag, IReadOnlyList<TableTransactionAction> changes)
    {
        var batches = Batches(changes);
        for (var i = 0; i < batches.Count; i++)
        {
            var pending = new TableEntity(entity.PartitionKey, entity.RowKey) { [PendingProperty] = entity[VersionProperty] };
            TableTransactionAction own = (i == batches.Count - 1, etag) switch
            {
                (true, null) => new(TableTransactionActionType.Add, entity),
                (true, { } match) => new(TableTransactionActionType.UpdateReplace, entity, match),
                // No entry yet: a tombstone older than any version holds the place.
                (false, null) => new(TableTransactionActionType.Add, new TableEntity(pending) { [VersionProperty] = -1L, [LiveProperty] = false }),
                (false, { } match) => new(TableTransactionActionType.UpdateMerge, pending, match),
            };
            var response = await table.SubmitTransactionAsync([own, .. batches[i]]);
            etag = response.Value[0].Headers.ETag
                ?? throw new InvalidOperationException($"The table returned no ETag for {entity.PartitionKey}/{entity.RowKey}.");
        }
    }

    private static List<List<TableTransactionAction>> Batches(IReadOnlyList<TableTransactionAction> changes)
    {
        // One action of each transaction is the entry's own; the bytes are a generous estimate (binary
        // goes as base64, text may be escaped), kept well under the 4 MiB a transaction may carry.
        const int MaxActions = 99;
        const long MaxBytes = 2 * 1024 * 1024;
        var batches = new List<List<TableTransactionAction>> { new() };
        long bytes = 0;
        foreach (var change in changes)
        {
            var size = change.Entity is TableEntity properties
                ? properties.Sum(property => property.Value switch
                {
                    byte[] binary => binary.Length * 4L / 3 + 64,
                    string text => text.Length * 6L + 64,
                    _ => 64L,
                })
                : 64L;
            if (batches[^1].Count == MaxActions || (batches[^1].Count > 0 && bytes + size > MaxBytes))
            {
                batches.Add([]);
                bytes = 0;
            }
            batches[^1].Add(change);
            bytes += size;
        }
        return batches;
    }

    /// <summary>Whether the table holds any entity at all.</summary>
    public async Task<bool> AnyAsync()
    {
        await _created.EnsureAsync();
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
        await _created.EnsureAsync();
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
        await _created.EnsureAsync();
        await table.DeleteEntityAsync(partition, row, ETag.All);
    }
}
