using Glance.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace Glance.Grains.Tasks;

/// <summary>
/// Start-up reconciliation of tasks for the embedded profile, one SQL query as the catalog's: a task
/// whose stored version is ahead of its index entry (a crash between the task write and the index
/// update), and every unexpired task still pending or processing (its image may have finished or
/// rolled it back while the report was lost), is asked to recover. Nothing when all agree.
/// </summary>
public sealed class TaskRecovery(SqliteDatabase database, SqliteTaskIndexStore index, IGrainFactory grains, ILogger<TaskRecovery> logger) : IStartupTask
{
    /// <inheritdoc />
    public async Task Execute(CancellationToken cancellationToken)
    {
        await index.EnsureSchemaAsync();
        var stale = await database.ReadAsync(connection =>
        {
            using var command = SqliteDatabase.Command(connection, """
                SELECT g.grain_key FROM grain_state g
                LEFT JOIN task_entry e ON e.task_id = g.grain_key
                WHERE g.state_name = 'task' AND g.grain_type = 'glance.task'
                  AND json_extract(g.payload, '$.task') IS NOT NULL
                  AND (json_extract(g.payload, '$.task.status') IN ('Pending', 'Processing')
                       OR ((e.version IS NULL OR e.version < json_extract(g.payload, '$.version'))
                           AND (json_extract(g.payload, '$.task.expiresAt') IS NULL
                                OR julianday(json_extract(g.payload, '$.task.expiresAt')) > julianday('now'))))
                """);
            using var reader = command.ExecuteReader();
            var keys = new List<Guid>();
            while (reader.Read())
            {
                keys.Add(Guid.Parse(reader.GetString(0)));
            }
            return keys;
        });
        if (stale.Count == 0)
        {
            return;
        }
        logger.LogWarning("Recovering {Count} task(s) whose index entry or status may be behind", stale.Count);
        foreach (var chunk in stale.Chunk(64))
        {
            await Task.WhenAll(chunk.Select(id => grains.GetGrain<ITaskRecorder>(id).RecoverAsync()));
        }
    }
}
