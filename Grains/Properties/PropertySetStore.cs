using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Glance.Grains.Storage;

namespace Glance.Grains.Properties;

/// <summary>
/// Durable home of the image property sets: one row (or entity) per property and one holding the
/// set's version, so that committing a delta writes the properties it names and nothing else.
/// The property-set grain of an image is its only writer.
/// </summary>
public interface IPropertySetStore
{
    /// <summary>An image's set as stored (version 0 and no properties when it has none).</summary>
    Task<PropertySet> LoadAsync(Guid imageId);

    /// <summary>
    /// Writes <paramref name="delta"/> unless the stored set is at its version or newer. The version
    /// is written last: a commit cut short leaves the old version, and the image grain, which carries
    /// the delta until the set has it, sends it again (applying a delta twice gives the same set).
    /// </summary>
    Task CommitAsync(Guid imageId, PropertyDelta delta);
}

/// <summary>Property sets in the embedded database: a row per property, a row per set's version, one transaction per delta.</summary>
public sealed class SqlitePropertySetStore(SqliteDatabase database) : IPropertySetStore
{
    /// <inheritdoc />
    public Task<PropertySet> LoadAsync(Guid imageId) =>
        database.ReadAsync(connection =>
        {
            // One statement, so the version and the rows come from the same snapshot.
            using var command = SqliteDatabase.Command(connection, """
                SELECT s.version, p.property FROM property_set s
                LEFT JOIN image_property p ON p.image_id = s.image_id
                WHERE s.image_id = $id
                """, ("$id", SqliteCatalogStore.Key(imageId)));
            using var reader = command.ExecuteReader();
            var version = 0L;
            var properties = ImmutableSortedDictionary.CreateBuilder<string, ImageProperty>(StringComparer.Ordinal);
            while (reader.Read())
            {
                version = reader.GetInt64(0);
                if (!reader.IsDBNull(1))
                {
                    var property = JsonSerializer.Deserialize<ImageProperty>(reader.GetString(1), StorageJson.Options)!;
                    properties[property.Name] = property;
                }
            }
            return new PropertySet(version, properties.ToImmutable());
        });

    /// <inheritdoc />
    public Task CommitAsync(Guid imageId, PropertyDelta delta) =>
        database.WriteAsync(connection =>
        {
            var id = SqliteCatalogStore.Key(imageId);
            using (var stored = SqliteDatabase.Command(connection, "SELECT version FROM property_set WHERE image_id = $id", ("$id", id)))
            {
                if (stored.ExecuteScalar() is long version && version >= delta.Version)
                {
                    return 0;
                }
            }
            if (delta.Reset)
            {
                SqliteDatabase.Execute(connection, "DELETE FROM image_property WHERE image_id = $id", ("$id", id));
            }
            foreach (var name in delta.Removals)
            {
                SqliteDatabase.Execute(connection, "DELETE FROM image_property WHERE image_id = $id AND name = $name", ("$id", id), ("$name", name));
            }
            foreach (var property in delta.Upserts)
            {
                SqliteDatabase.Execute(connection, """
                    INSERT INTO image_property (image_id, name, property) VALUES ($id, $name, $property)
                    ON CONFLICT (image_id, name) DO UPDATE SET property = excluded.property
                    """, ("$id", id), ("$name", property.Name), ("$property", JsonSerializer.Serialize(property, StorageJson.Options)));
            }
            SqliteDatabase.Execute(connection, """
                INSERT INTO property_set (image_id, version) VALUES ($id, $version)
                ON CONFLICT (image_id) DO UPDATE SET version = excluded.version
                """, ("$id", id), ("$version", delta.Version));
            return 0;
        });
}

/// <summary>
/// Property sets in an Azure Table (the azure profile): an image's partition holds an entity per
/// property and one for the set's version. A delta is sent as entity-group transactions (at most
/// 100 actions each), the version in the last one.
/// </summary>
public sealed class AzureTablePropertySetStore(TableClient table) : IPropertySetStore
{
    // A table property holds at most 64 KiB, an entity 1 MiB, a transaction 4 MiB and 100 actions.
    private const int ChunkBytes = 60 * 1024;
    private const int MaxActions = 100;
    private const int MaxTransactionBytes = 2 * 1024 * 1024;
    private const string VersionRow = "v";
    private const string VersionProperty = "Version";
    private const string ChunksProperty = "Chunks";
    private readonly TableCreation _created = new(table);

    /// <inheritdoc />
    public async Task<PropertySet> LoadAsync(Guid imageId)
    {
        await _created.EnsureAsync();
        var version = 0L;
        var properties = ImmutableSortedDictionary.CreateBuilder<string, ImageProperty>(StringComparer.Ordinal);
        await foreach (var entity in table.QueryAsync<TableEntity>(e => e.PartitionKey == Partition(imageId)))
        {
            if (entity.RowKey == VersionRow)
            {
                version = entity.GetInt64(VersionProperty) ?? 0;
            }
            else
            {
                var property = Read(entity);
                properties[property.Name] = property;
            }
        }
        return new PropertySet(version, properties.ToImmutable());
    }

    /// <inheritdoc />
    /// <remarks>
    /// The version entity is written on the condition that it is still the one read (its ETag, or
    /// absent), in the delta's last transaction: two activations of one set (a silo lost, for a
    /// moment) cannot put an older version over a newer one. The loser reads again and stops if
    /// the stored set is as new as its delta.
    /// </remarks>
    public async Task CommitAsync(Guid imageId, PropertyDelta delta)
    {
        await _created.EnsureAsync();
        var partition = Partition(imageId);
        for (var attempt = 1; ; attempt++)
        {
            var stored = await table.GetEntityIfExistsAsync<TableEntity>(partition, VersionRow, [VersionProperty]);
            var current = stored.HasValue ? stored.Value : null;
            if (current is not null && (current.GetInt64(VersionProperty) ?? 0) >= delta.Version)
            {
                return;
            }
            var upserts = delta.Upserts.Select(Entity(partition)).ToList();
            var written = upserts.Select(e => e.RowKey).ToHashSet(StringComparer.Ordinal);
            var removals = delta.Reset
                ? await StoredRowsAsync(partition)
                : delta.Removals.Select(RowKey).ToList();
            var version = new TableEntity(partition, VersionRow) { [VersionProperty] = delta.Version };
            var actions = removals.Where(row => !written.Contains(row))
                .Select(row => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, row), ETag.All))
                .Concat(upserts.Select(e => new TableTransactionAction(TableTransactionActionType.UpsertReplace, e)))
                .Append(current is null
                    ? new TableTransactionAction(TableTransactionActionType.Add, version)
                    : new TableTransactionAction(TableTransactionActionType.UpdateReplace, version, current.ETag))
                .ToList();
            try
            {
                foreach (var batch in Batches(actions))
                {
                    await SubmitAsync(batch);
                }
                return;
            }
            catch (TableTransactionFailedException e) when (e.Status is 409 or 412 && attempt < MaxAttempts)
            {
                // Another writer moved the version since it was read: read again.
            }
        }
    }

    private const int MaxAttempts = 8;

    /// <summary>Sends one transaction; a delete of a row already gone (a delta sent again) is dropped and the rest sent again.</summary>
    private async Task SubmitAsync(List<TableTransactionAction> batch)
    {
        while (batch.Count > 0)
        {
            try
            {
                await table.SubmitTransactionAsync(batch);
                return;
            }
            catch (TableTransactionFailedException e) when (e.Status == 404 && e.FailedTransactionActionIndex is int index
                && batch[index].ActionType == TableTransactionActionType.Delete)
            {
                batch.RemoveAt(index);
            }
        }
    }

    /// <summary>The actions cut into transactions Azure accepts, in order (the version's stays last).</summary>
    private static IEnumerable<List<TableTransactionAction>> Batches(List<TableTransactionAction> actions)
    {
        var batch = new List<TableTransactionAction>();
        var bytes = 0;
        foreach (var action in actions)
        {
            var size = action.Entity is TableEntity entity ? entity.Sum(property => property.Value is byte[] bytes ? bytes.Length : 64) : 0;
            if (batch.Count == MaxActions || (batch.Count > 0 && bytes + size > MaxTransactionBytes))
            {
                yield return batch;
                batch = [];
                bytes = 0;
            }
            batch.Add(action);
            bytes += size;
        }
        yield return batch;
    }

    private async Task<List<string>> StoredRowsAsync(string partition)
    {
        var rows = new List<string>();
        await foreach (var entity in table.QueryAsync<TableEntity>(e => e.PartitionKey == partition, select: ["RowKey"]))
        {
            if (entity.RowKey != VersionRow)
            {
                rows.Add(entity.RowKey);
            }
        }
        return rows;
    }

    private static Func<ImageProperty, TableEntity> Entity(string partition) => property =>
    {
        var entity = new TableEntity(partition, RowKey(property.Name));
        // Compressed: a value's JSON, escaped again inside the property's, can be seven times the
        // value (control characters), past an entity's 1 MiB; escapes compress well.
        using var compressed = new MemoryStream();
        using (var deflate = new DeflateStream(compressed, CompressionLevel.Fastest))
        {
            JsonSerializer.Serialize(deflate, property, StorageJson.Options);
        }
        var chunks = compressed.ToArray().Chunk(ChunkBytes).ToArray();
        entity[ChunksProperty] = chunks.Length;
        for (var i = 0; i < chunks.Length; i++)
        {
            entity[$"Property{i}"] = chunks[i];
        }
        return entity;
    };

    private static ImageProperty Read(TableEntity entity)
    {
        var count = entity.GetInt32(ChunksProperty) ?? 0;
        using var joined = new MemoryStream();
        for (var i = 0; i < count; i++)
        {
            joined.Write(entity.GetBinary($"Property{i}"));
        }
        joined.Position = 0;
        using var inflate = new DeflateStream(joined, CompressionMode.Decompress);
        return JsonSerializer.Deserialize<ImageProperty>(inflate, StorageJson.Options)!;
    }

    private static string Partition(Guid imageId) => SqliteCatalogStore.Key(imageId);

    // A name may hold any character (RowKeys refuse / \ # ? and control characters) and be longer
    // than a RowKey in any encoding: the key is a hash of it; the name itself is in the entity.
    private static string RowKey(string name) =>
        "p" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)));
}
