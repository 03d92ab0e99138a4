namespace Glance.Grains.Catalog;

/// <summary>
/// A catalog shard's memory of recent removals, so that an upsert already on its way when its image
/// was deleted cannot bring the entry back. Kept for <see cref="Lifetime"/> only: memory follows the
/// deletes of the last minutes, not every image ever deleted. Past that the store's version-guarded
/// rows still refuse an older write, and an image grain publishes its own writes in order.
/// </summary>
public sealed class RecentRemovals(TimeProvider clock)
{
    /// <summary>How long a removal is remembered.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    private readonly Dictionary<Guid, long> _versions = [];
    private readonly Queue<(Guid ImageId, long Version, DateTimeOffset At)> _byAge = new();

    /// <summary>How many removals are remembered.</summary>
    public int Count => _versions.Count;

    /// <summary>Remembers that <paramref name="imageId"/> was removed at <paramref name="version"/>; forgets expired removals.</summary>
    public void Add(Guid imageId, long version)
    {
        var now = clock.GetUtcNow();
        while (_byAge.TryPeek(out var oldest) && now - oldest.At > Lifetime)
        {
            _byAge.Dequeue();
            // A later removal of the same image keeps its own, younger entry.
            if (_versions.TryGetValue(oldest.ImageId, out var kept) && kept == oldest.Version)
            {
                _versions.Remove(oldest.ImageId);
            }
        }
        _versions[imageId] = version;
        _byAge.Enqueue((imageId, version, now));
    }

    /// <summary>True when a remembered removal is at <paramref name="version"/> or later.</summary>
    public bool Covers(Guid imageId, long version) => _versions.TryGetValue(imageId, out var removedAt) && removedAt >= version;
}
