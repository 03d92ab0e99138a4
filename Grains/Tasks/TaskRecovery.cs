using Glance.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace Glance.Grains.Tasks;

/// <summary>
/// Start-up reconciliation of tasks for the embedded profile, by SQL queries as the catalog's: a task
/// whose stored version is ahead of its index entry (a crash between the task write and the index
/// update), and every unexpired task still pending or processing (its image may have finished or
/// rolled it back while the report was lost), is asked to recover; an image holding a task that
/// has no task grain (recorded before task grains existed) reports it. Nothing when all agree.
/// </summary>
public sealed class TaskRecovery(SqliteDatabase database, SqliteTaskIndexStore index, IGrainFactory grains, ILogger<TaskRecovery> logger) : IStartupTask
{
    /// <inheritdoc />
    public async Task Execute(CancellationToken cancellationToken)
    {
        await index.EnsureSchemaAsync();
        var stale = await KeysAsync("""
            SELECT g.grain_key FROM grain_state g
            LEFT JOIN task_entry e ON e.task_id = g.grain_key
            WHERE g.state_name = 'task' AND g.grain_type = 'glance.task'
              AND json_extract(g.payload, '$.task') IS NOT NULL
              AND (json_extract(g.payload, '$.task.status') IN ('Pending', 'Processing')
                   OR ((e.version IS NULL OR e.version < json_extract(g.payload, '$.version'))
                       AND (json_extract(g.payload, '$.task.expiresAt') IS NULL
                            OR julianday(json_extract(g.payload, '$.task.expiresAt')) > julianday('now'))))
            """);
        if (stale.Count > 0)
        {
            logger.LogWarning("Recovering {Count} task(s) whose index entry or status may be behind", stale.Count);
            await InChunksAsync(stale, id => grains.GetGrain<ITaskRecorder>(id).RecoverAsync());
        }
        // Images holding an unexpired task that has no task grain: tasks recorded before task grains existed.
        var homeless = await KeysAsync("""
            SELECT DISTINCT g.grain_key FROM grain_state g, json_each(g.payload, '$.tasks') t
            LEFT JOIN grain_state h ON h.state_name = 'task' AND h.grain_type = 'glance.task'
                AND h.grain_key = replace(json_extract(t.value, '$.id'), '-', '')
            WHERE g.state_name = 'image' AND g.grain_type = 'glance.image' AND h.grain_key IS NULL
              AND (json_extract(t.value, '$.expiresAt') IS NULL OR julianday(json_extract(t.value, '$.expiresAt')) > julianday('now'))
            """);
        if (homeless.Count > 0)
        {
            logger.LogWarning("Giving the tasks of {Count} image(s) their task grains", homeless.Count);
            await InChunksAsync(homeless, id => grains.GetGrain<IImageTaskSource>(id).SendTasksAsync());
        }
    }

    // The image sweeps' query helper: the grain keys (here task or image ids) the first column holds.
    private Task<List<Guid>> KeysAsync(string sql) => ImageSweep.FindAsync(database, sql);

    private static async Task InChunksAsync(List<Guid> keys, Func<Guid, Task> repair)
    {
        foreach (var chunk in keys.Chunk(64))
        {
            await Task.WhenAll(chunk.Select(repair));
        }
    }
}
