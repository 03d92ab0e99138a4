namespace Glance.Grains.Catalog;

/// <summary>
/// Which catalog shard holds which image. Shards are chosen by owner, so one project's
/// images sit together, and each owner is spread over <see cref="SpreadPerOwner"/> shards
/// so that one very large project does not make one very large shard.
/// </summary>
/// <remarks>
/// The mapping is persisted implicitly (entries are stored per shard), so these numbers
/// are constants of the data format: changing them needs a re-index.
/// </remarks>
public static class CatalogShards
{
    /// <summary>Number of shards. Each list request asks every shard, so keep it small.</summary>
    public const int Count = 4;

    /// <summary>How many shards one owner's images are spread over.</summary>
    public const int SpreadPerOwner = 2;

    /// <summary>All shard keys.</summary>
    public static readonly ImmutableArray<long> All = [.. Enumerable.Range(0, Count).Select(i => (long)i)];

    /// <summary>The shard of an image. Uses a stable hash: string.GetHashCode differs per process.</summary>
    public static long Of(string? owner, Guid imageId)
    {
        var spread = (uint)imageId.GetHashCode() % SpreadPerOwner;
        return (Fnv1a(owner ?? "") + spread) % Count;
    }

    /// <summary>The shards an owner's images can be on.</summary>
    public static IEnumerable<long> ForOwner(string? owner) =>
        Enumerable.Range(0, SpreadPerOwner).Select(spread => (long)((Fnv1a(owner ?? "") + (uint)spread) % Count)).Distinct();

    private static uint Fnv1a(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return hash;
    }
}
