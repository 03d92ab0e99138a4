namespace Glance.Grains.Catalog;

/// <summary>
/// Durable home of the catalog shards' entries, per image a row (or entity) and one per additional
/// property, so that a change rewrites what changed: never a whole shard, nor an image's whole
/// property set. Writes are version-guarded: an older version never replaces a newer one.
/// </summary>
public interface ICatalogStore
{
    /// <summary>Every live entry of a shard.</summary>
    Task<IReadOnlyList<CatalogEntry>> LoadShardAsync(long shard);

    /// <summary>Stores an entry unless a newer version is stored.</summary>
    Task UpsertAsync(long shard, CatalogEntry entry);

    /// <summary>Marks an image gone (a tombstone carrying the version) unless a newer version is stored.</summary>
    Task RemoveAsync(long shard, Guid imageId, long version);

    /// <summary>
    /// Records <paramref name="layout"/> as the store's layout unless one is recorded (the first
    /// writer wins, also between nodes starting at once) and returns the recorded one. A store that
    /// holds entries but no record was written before layouts were recorded: its layout is
    /// <see cref="CatalogLayout.Default"/>.
    /// </summary>
    Task<CatalogLayout> RecordLayoutAsync(CatalogLayout layout);
}
