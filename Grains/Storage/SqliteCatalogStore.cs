using System.Text.Json;
using Glance.Grains.Catalog;

namespace Glance.Grains.Storage;

/// <summary>Catalog entries in the embedded database: one row per image, version-guarded.</summary>
public sealed class SqliteCatalogStore(SqliteDatabase database) : ICatalogStore
{
    /// <inheritdoc />
    public Task<IReadOnlyList<CatalogEntry>> LoadShardAsync(long shard) =>
        database.ReadAsync<IReadOnlyList<CatalogEntry>>(connection =>
        {
            using var command = SqliteDatabase.Command(connection,
                "SELECT entry FROM catalog_entry WHERE shard = $shard AND entry IS NOT NULL", ("$shard", shard));
            using var reader = command.ExecuteReader();
            var entries = new List<CatalogEntry>();
            while (reader.Read())
            {
                entries.Add(JsonSerializer.Deserialize<CatalogEntry>(reader.GetString(0), StorageJson.Options)!);
            }
            return entries;
        });

    /// <inheritdoc />
    public Task UpsertAsync(long shard, CatalogEntry entry) =>
        Write(shard, entry.Image.Id, entry.Version, JsonSerializer.Serialize(entry, StorageJson.Options));

    /// <inheritdoc />
    public Task RemoveAsync(long shard, Guid imageId, long version) => Write(shard, imageId, version, null);

    /// <inheritdoc />
    public Task<CatalogLayout> RecordLayoutAsync(CatalogLayout layout) =>
        database.WriteAsync(connection =>
        {
            // One statement in the writer's transaction: entries without a record mean the default layout.
            SqliteDatabase.Execute(connection, """
                INSERT INTO catalog_layout (id, shards, spread)
                SELECT 0, CASE WHEN EXISTS (SELECT 1 FROM catalog_entry) THEN $legacyShards ELSE $shards END,
                          CASE WHEN EXISTS (SELECT 1 FROM catalog_entry) THEN $legacySpread ELSE $spread END
                ON CONFLICT (id) DO NOTHING
                """, ("$shards", layout.Shards), ("$spread", layout.SpreadPerOwner),
                ("$legacyShards", CatalogLayout.Default.Shards), ("$legacySpread", CatalogLayout.Default.SpreadPerOwner));
            using var command = SqliteDatabase.Command(connection, "SELECT shards, spread FROM catalog_layout WHERE id = 0");
            using var reader = command.ExecuteReader();
            reader.Read();
            return new CatalogLayout(reader.GetInt32(0), reader.GetInt32(1));
        });

    /// <summary>The key catalog rows use: the same text as the image grain's key, so the two join.</summary>
    public static string Key(Guid imageId) => imageId.ToString("N");

    private Task Write(long shard, Guid imageId, long version, string? entry) =>
        database.WriteAsync(connection => SqliteDatabase.Command(connection, """
            INSERT INTO catalog_entry (image_id, shard, version, entry) VALUES ($id, $shard, $version, $entry)
            ON CONFLICT (image_id) DO UPDATE SET shard = excluded.shard, version = excluded.version, entry = excluded.entry
            WHERE excluded.version > catalog_entry.version OR (excluded.version = catalog_entry.version AND excluded.shard <> catalog_entry.shard)
            """, ("$id", Key(imageId)), ("$shard", shard), ("$version", version), ("$entry", entry)).Run());
}
