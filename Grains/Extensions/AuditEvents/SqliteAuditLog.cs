using System.Text.Json;
using Glance.Grains.Storage;

namespace Glance.Grains.Extensions.AuditEvents;

/// <summary>The audit log in the embedded database: a table of its own, rows only ever inserted.</summary>
public sealed class SqliteAuditLog(SqliteDatabase database) : IAuditLog
{
    private readonly Lazy<Task> _schema = new(() => database.WriteAsync(connection =>
    {
        SqliteDatabase.Execute(connection, """
            CREATE TABLE IF NOT EXISTS audit_event (
                id        TEXT PRIMARY KEY,
                time      TEXT NOT NULL,
                project   TEXT NULL,
                target    TEXT NULL,
                operation TEXT NOT NULL,
                entry     TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS audit_event_by_target ON audit_event (target, id);
            """);
        return true;
    }));

    public async Task AppendAsync(AuditEvent auditEvent)
    {
        await _schema.Value;
        await database.WriteAsync(connection => SqliteDatabase.Command(connection,
            "INSERT INTO audit_event (id, time, project, target, operation, entry) VALUES ($id, $time, $project, $target, $operation, $entry)",
            ("$id", auditEvent.Id), ("$time", auditEvent.Time.UtcDateTime.ToString("O")), ("$project", auditEvent.Project),
            ("$target", auditEvent.Target), ("$operation", auditEvent.Operation),
            ("$entry", JsonSerializer.Serialize(auditEvent, StorageJson.Options))).ExecuteNonQuery());
    }

    public async Task<ImmutableArray<AuditEvent>> QueryAsync(AuditQuery query)
    {
        await _schema.Value;
        return await database.ReadAsync(connection =>
        {
            // Filters that have a column go to SQL; the rest (time, operation) are checked per row.
            using var command = SqliteDatabase.Command(connection, """
                SELECT entry FROM audit_event
                WHERE ($marker IS NULL OR id > $marker) AND ($target IS NULL OR target = $target)
                  AND ($project IS NULL OR project = $project) AND ($operation IS NULL OR operation = $operation)
                ORDER BY id
                """,
                ("$marker", query.Marker), ("$target", query.Target), ("$project", query.Project), ("$operation", query.Operation));
            using var reader = command.ExecuteReader();
            var page = ImmutableArray.CreateBuilder<AuditEvent>();
            while (page.Count < query.Limit && reader.Read())
            {
                var e = JsonSerializer.Deserialize<AuditEvent>(reader.GetString(0), StorageJson.Options)!;
                if (query.Matches(e))
                {
                    page.Add(e);
                }
            }
            return page.ToImmutable();
        });
    }
}
