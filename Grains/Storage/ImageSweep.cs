namespace Glance.Grains.Storage;

/// <summary>
/// What both start-up recoveries do: find image grains by a SQL query over their stored state,
/// then have each of them repair itself, 64 at a time.
/// </summary>
internal static class ImageSweep
{
    /// <summary>The image ids (the grain keys) <paramref name="sql"/> selects as its first column.</summary>
    public static Task<List<Guid>> FindAsync(SqliteDatabase database, string sql) =>
        database.ReadAsync(connection =>
        {
            using var command = SqliteDatabase.Command(connection, sql);
            using var reader = command.ExecuteReader();
            var keys = new List<Guid>();
            while (reader.Read())
            {
                keys.Add(Guid.Parse(reader.GetString(0)));
            }
            return keys;
        });

    /// <summary>Calls <paramref name="repair"/> on each image grain, a bounded number at a time.</summary>
    public static async Task RepairAsync(IGrainFactory grains, IEnumerable<Guid> images, Func<IImageMaintenanceGrain, Task> repair)
    {
        foreach (var chunk in images.Chunk(64))
        {
            await Task.WhenAll(chunk.Select(id => repair(grains.GetGrain<IImageMaintenanceGrain>(id))));
        }
    }
}
