using Glance.Grains.Catalog;
using Microsoft.Extensions.Logging;

namespace Glance.Grains.Storage;

/// <summary>
/// Start-up reconciliation for the embedded profile: finds images whose stored version is
/// newer than their catalog entry (a crash between the image write and the catalog update)
/// and has each such image re-publish itself. One indexed SQL join; nothing when all agree.
/// </summary>
public sealed class CatalogRecovery(SqliteDatabase database, IGrainFactory grains, ILogger<CatalogRecovery> logger) : IStartupTask
{
    /// <inheritdoc />
    public async Task Execute(CancellationToken cancellationToken)
    {
        var stale = await ImageSweep.FindAsync(database, """
                SELECT g.grain_key FROM grain_state g
                LEFT JOIN catalog_entry c ON c.image_id = g.grain_key
                WHERE g.state_name = 'image' AND g.grain_type = 'glance.image'
                  AND (c.version IS NULL OR c.version < json_extract(g.payload, '$.version')
                       -- A live image under a tombstone of its own version: the crash fell between
                       -- the former shard's remove and the new shard's upsert (owner change).
                       OR (c.entry IS NULL AND json_extract(g.payload, '$.status') <> 'Deleted'))
                """);
        if (stale.Count == 0)
        {
            return;
        }
        logger.LogWarning("Re-publishing {Count} image(s) whose catalog entry was behind", stale.Count);
        await ImageSweep.RepairAsync(grains, stale, image => image.PublishToCatalogAsync());
    }
}
