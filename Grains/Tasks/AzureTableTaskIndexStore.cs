using System.Globalization;
using System.Text.Json;
using Glance.Grains.Storage;

namespace Glance.Grains.Tasks;

/// <summary>
/// The task index in Azure Table storage (the azure profile): one entity per task in its shard's
/// partition, version-guarded like the catalog's (<see cref="VersionedTable"/>). Expired entries
/// are deleted when their shard loads, as the embedded store does.
/// </summary>
public sealed class AzureTableTaskIndexStore(VersionedTable table) : ITaskIndexStore
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<TaskEntry>> LoadShardAsync(long shard, DateTimeOffset now)
    {
        var entries = new List<TaskEntry>();
        await foreach (var payload in table.LoadAsync(Partition(shard)))
        {
            var entry = JsonSerializer.Deserialize<TaskEntry>(payload, StorageJson.Options)!;
            if (entry.Task.ExpiresAt is { } expires && expires < now)
            {
                await table.DeleteAsync(Partition(shard), SqliteTaskIndexStore.Key(entry.Task.Id));
                continue;
            }
            entries.Add(entry);
        }
        return entries;
    }

    /// <inheritdoc />
    public Task UpsertAsync(long shard, TaskEntry entry) =>
        table.WriteAsync(Partition(shard), SqliteTaskIndexStore.Key(entry.Task.Id), entry.Version, JsonSerializer.SerializeToUtf8Bytes(entry, StorageJson.Options));

    /// <summary>The stored version of a task's entry, or null when there is none (the cluster repair compares it).</summary>
    public Task<(long Version, bool Live)?> VersionAsync(long shard, Guid taskId) =>
        table.VersionAsync(Partition(shard), SqliteTaskIndexStore.Key(taskId));

    private static string Partition(long shard) => shard.ToString(CultureInfo.InvariantCulture);
}
