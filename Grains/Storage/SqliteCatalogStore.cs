using Glance.Grains.Catalog;
using Microsoft.Data.Sqlite;

namespace Glance.Grains.Storage;

/// <summary>
/// Catalog entries in the embedded database: per image a core row (version-guarded) and one row per
/// additional property (<see cref="CatalogRows"/>); a write stores only the property rows that changed.
/// </summary>
public sealed class SqliteCatalogStore(SqliteDatabase database) : ICatalogStore
{
    /// <inheritdoc />
    public Task<IReadOnlyList<CatalogEntry>> LoadShardAsync(long shard) =>
        database.ReadAsync<IReadOnlyList<CatalogEntry>>(connection =>
        {
            // One snapshot for both queries: a write in between cannot pair a core with another version's rows.
            using var transaction = connection.BeginTransaction(deferred: true);
            var cores = new Dictionary<string, string>(StringComparer.Ordinal);
            using (var command = SqliteDatabase.Command(connection,
                "SELECT image_id, entry FROM catalog_entry WHERE shard = $shard AND entry IS NOT NULL", ("$shard", shard)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    cores[reader.GetString(0)] = reader.GetString(1);
                }
            }
            var rows = cores.Keys.ToDictionary(key => key, _ => new List<KeyValuePair<string, CatalogRows.Property>>(), StringComparer.Ordinal);
            using (var command = SqliteDatabase.Command(connection, """
                SELECT p.image_id, p.name, p.value, p.access FROM catalog_property p
                JOIN catalog_entry c ON c.image_id = p.image_id
                WHERE c.shard = $shard AND c.entry IS NOT NULL
                """, ("$shard", shard)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    rows[reader.GetString(0)].Add(new(reader.GetString(1),
                        CatalogRows.Property.Of(reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3))));
                }
            }
            return [.. cores.Select(core => CatalogRows.Join(core.Value, rows[core.Key]))];
        });

    /// <inheritdoc />
    public Task UpsertAsync(long shard, CatalogEntry entry)
    {
        var (core, properties) = CatalogRows.Split(entry);
        return Write(shard, entry.Image.Id, entry.Version, core, properties);
    }

    /// <inheritdoc />
    public Task RemoveAsync(long shard, Guid imageId, long version) =>
        Write(shard, imageId, version, null, new Dictionary<string, CatalogRows.Property>());

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

    // The core (null: a tombstone) and, only when the version guard let it in, the property rows
    // that differ from the stored ones, all in the writer's transaction.
    private Task Write(long shard, Guid imageId, long version, string? core, IReadOnlyDictionary<string, CatalogRows.Property> properties) =>
        database.WriteAsync(connection =>
        {
            var key = Key(imageId);
            var written = SqliteDatabase.Command(connection, """
                INSERT INTO catalog_entry (image_id, shard, version, entry) VALUES ($id, $shard, $version, $entry)
                ON CONFLICT (image_id) DO UPDATE SET shard = excluded.shard, version = excluded.version, entry = excluded.entry
                WHERE excluded.version > catalog_entry.version OR (excluded.version = catalog_entry.version AND excluded.shard <> catalog_entry.shard)
                """, ("$id", key), ("$shard", shard), ("$version", version), ("$entry", core)).Run();
            if (written == 0)
            {
                return 0;
            }
            // Rows written before properties had rows are "none": the first write stores every property.
            var stored = new Dictionary<string, (string Value, string? Access)>(StringComparer.Ordinal);
            using (var command = SqliteDatabase.Command(connection,
                "SELECT name, value, access FROM catalog_property WHERE image_id = $id", ("$id", key)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    stored[reader.GetString(0)] = (reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2));
                }
            }
            // The writer keeps these statements prepared (SqliteDatabase.Execute).
            foreach (var (name, property) in properties)
            {
                var access = property.AccessJson;
                if (!stored.Remove(name, out var old) || old.Value != property.Value || old.Access != access)
                {
                    SqliteDatabase.Execute(connection, """
                        INSERT INTO catalog_property (image_id, name, value, access) VALUES ($id, $name, $value, $access)
                        ON CONFLICT (image_id, name) DO UPDATE SET value = excluded.value, access = excluded.access
                        """, ("$id", key), ("$name", name), ("$value", property.Value), ("$access", access));
                }
            }
            foreach (var name in stored.Keys)
            {
                SqliteDatabase.Execute(connection, "DELETE FROM catalog_property WHERE image_id = $id AND name = $name", ("$id", key), ("$name", name));
            }
            return written;
        });
}
