using Microsoft.Extensions.Logging;

namespace Glance.Grains.Storage;

/// <summary>
/// Start-up recovery of image data for the embedded profile (one node): an upload or import
/// that was in flight when the process died is undone (its bytes deleted, the image back to queued,
/// so a retry works), and a deleted image whose bytes a crash kept has them deleted. The
/// image grains do the work; this only finds them, with one SQL query.
/// </summary>
public sealed class DataRecovery(SqliteDatabase database, IGrainFactory grains, ILogger<DataRecovery> logger) : IStartupTask
{
    /// <inheritdoc />
    public async Task Execute(CancellationToken cancellationToken)
    {
        var affected = await database.ReadAsync(connection =>
        {
            using var command = SqliteDatabase.Command(connection, """
                SELECT grain_key FROM grain_state
                WHERE state_name = 'image' AND grain_type = 'glance.image'
                  AND (json_extract(payload, '$.upload') IS NOT NULL
                       OR json_extract(payload, '$.import') IS NOT NULL
                       OR (json_extract(payload, '$.status') = 'Deleted'
                           AND (json_extract(payload, '$.dataKey') IS NOT NULL OR json_extract(payload, '$.stagedKey') IS NOT NULL)))
                """);
            using var reader = command.ExecuteReader();
            var keys = new List<Guid>();
            while (reader.Read())
            {
                keys.Add(Guid.Parse(reader.GetString(0)));
            }
            return keys;
        });
        if (affected.Count == 0)
        {
            return;
        }
        logger.LogWarning("Recovering the data of {Count} image(s) left mid-upload, mid-import or mid-delete by a previous process", affected.Count);
        foreach (var chunk in affected.Chunk(64))
        {
            await Task.WhenAll(chunk.Select(id => grains.GetGrain<IImageGrain>(id).RecoverDataAsync()));
        }
    }
}
