using System.Globalization;
using System.Text.Json;
using Glance.Grains.Storage;

namespace Glance.Grains.Tasks;

/// <summary>
/// The task index in the embedded database: one row per task, version-guarded, in a table of its
/// own (<c>task_entry</c>, created on first use). Expired rows are dropped when their shard loads.
/// </summary>
public sealed class SqliteTaskIndexStore(SqliteDatabase database) : ITaskIndexStore
{
    private readonly Lazy<Task> _schema = new(() => database.WriteAsync(connection =>
    {
        SqliteDatabase.Execute(connection, """
            CREATE TABLE IF NOT EXISTS task_entry (
                task_id    TEXT PRIMARY KEY,
                shard      INTEGER NOT NULL,
                version    INTEGER NOT NULL,
                expires_at TEXT NULL,
                entry      TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS task_entry_by_shard ON task_entry (shard);
            """);
        return true;
    }));

    /// <summary>Creates the table if it is missing (start-up recovery joins it before any task is written).</summary>
    public Task EnsureSchemaAsync() => _schema.Value;

    /// <inheritdoc />
    public async Task<IReadOnlyList<TaskEntry>> LoadShardAsync(long shard, DateTimeOffset now)
    {
        await EnsureSchemaAsync();
        await database.WriteAsync(connection => SqliteDatabase.Command(connection,
            "DELETE FROM task_entry WHERE shard = $shard AND expires_at IS NOT NULL AND expires_at < $now",
            ("$shard", shard), ("$now", Sortable(now))).Run());
        return await database.ReadAsync<IReadOnlyList<TaskEntry>>(connection =>
        {
            using var command = SqliteDatabase.Command(connection, "SELECT entry FROM task_entry WHERE shard = $shard", ("$shard", shard));
            using var reader = command.ExecuteReader();
            var entries = new List<TaskEntry>();
            while (reader.Read())
            {
                entries.Add(JsonSerializer.Deserialize<TaskEntry>(reader.GetString(0), StorageJson.Options)!);
            }
            return entries;
        });
    }

    /// <inheritdoc />
    public async Task UpsertAsync(long shard, TaskEntry entry)
    {
        await EnsureSchemaAsync();
        await database.WriteAsync(connection => SqliteDatabase.Command(connection, """
            INSERT INTO task_entry (task_id, shard, version, expires_at, entry) VALUES ($id, $shard, $version, $expires, $entry)
            ON CONFLICT (task_id) DO UPDATE SET shard = excluded.shard, version = excluded.version,
                expires_at = excluded.expires_at, entry = excluded.entry
            WHERE excluded.version > task_entry.version
            """,
            ("$id", Key(entry.Task.Id)), ("$shard", shard), ("$version", entry.Version),
            ("$expires", entry.Task.ExpiresAt is { } expires ? Sortable(expires) : null),
            ("$entry", JsonSerializer.Serialize(entry, StorageJson.Options))).Run());
    }

    /// <summary>The key task rows use: the same text as the task grain's key, so the two join.</summary>
    public static string Key(Guid taskId) => taskId.ToString("N");

    // UTC, fixed width: compares as text in the order of time.
    private static string Sortable(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
