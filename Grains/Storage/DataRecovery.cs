using Microsoft.Extensions.Logging;

namespace Glance.Grains.Storage;

/// <summary>
/// Start-up recovery of image data for the embedded profile (one node): an upload or import
/// that was in flight when the process died is undone (its bytes deleted, the image back to queued,
/// so a retry works), and a deleted image whose bytes a crash kept has them deleted. The
/// image grains do the work; this only finds them, with one SQL query.
/// </summary>
public sealed class DataRecovery(SqliteDatabase database, IGrainFactory grains, IImageDataStore store, ILogger<DataRecovery> logger) : IStartupTask
{
    /// <inheritdoc />
    public async Task Execute(CancellationToken cancellationToken)
    {
        // The embedded profile is one node and start-up tasks run before it serves requests: a
        // partial file present now belongs to a write that died with a previous process.
        if (store is FileImageDataStore files && files.DeletePartialFiles(DateTime.UtcNow) is > 0 and var removed)
        {
            logger.LogWarning("Removed {Count} partial image file(s) left by a previous process", removed);
        }
        var affected = await ImageSweep.FindAsync(database, """
                SELECT grain_key FROM grain_state
                WHERE state_name = 'image' AND grain_type = 'glance.image'
                  AND (json_extract(payload, '$.upload') IS NOT NULL
                       OR json_extract(payload, '$.import') IS NOT NULL
                       OR (json_extract(payload, '$.status') = 'Deleted'
                           AND (json_extract(payload, '$.dataKey') IS NOT NULL OR json_extract(payload, '$.stagedKey') IS NOT NULL)))
                """);
        if (affected.Count == 0)
        {
            return;
        }
        logger.LogWarning("Recovering the data of {Count} image(s) left mid-upload, mid-import or mid-delete by a previous process", affected.Count);
        await ImageSweep.RepairAsync(grains, affected, image => image.RecoverDataAsync());
    }
}
