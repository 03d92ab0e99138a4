using Microsoft.Extensions.DependencyInjection;

namespace Glance.Grains.Catalog;

/// <summary>
/// Which index shard holds which image (and task, and template): the catalog's layout. Shards are
/// chosen by owner, so one project's images sit together, and each owner is spread over
/// <see cref="SpreadPerOwner"/> shards by image id, so that one very large project does not make
/// one very large shard (with <c>SpreadPerOwner = Shards</c> every owner spreads evenly over all).
/// </summary>
/// <remarks>
/// The layout is a property of the stored data (entries are stored per shard): it is chosen for a
/// new cluster (<see cref="CatalogOptions"/>), recorded in the catalog store on first start, and a
/// start naming another one is refused (<see cref="CatalogLayoutCheck"/>); changing it needs a re-index.
/// One instance per silo, from the service provider (<see cref="CatalogLayoutExtensions.CatalogShards"/>).
/// </remarks>
public sealed class CatalogLayout
{
    /// <summary>The layout of data written before the layout was configurable, and the default.</summary>
    public static CatalogLayout Default { get; } = new(4, 2);

    /// <summary>A layout of <paramref name="shards"/> shards, each owner spread over <paramref name="spreadPerOwner"/> of them.</summary>
    public CatalogLayout(int shards, int spreadPerOwner)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(spreadPerOwner, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(spreadPerOwner, shards);
        Shards = shards;
        SpreadPerOwner = spreadPerOwner;
        All = [.. Enumerable.Range(0, shards).Select(i => (long)i)];
    }

    /// <summary>Number of shards. Each list request asks every shard.</summary>
    public int Shards { get; }

    /// <summary>How many shards one owner's images are spread over.</summary>
    public int SpreadPerOwner { get; }

    /// <summary>All shard keys.</summary>
    public ImmutableArray<long> All { get; }

    /// <summary>The shard of an image. Uses a stable hash: string.GetHashCode differs per process.</summary>
    public long Of(string? owner, Guid imageId)
    {
        // In long arithmetic (no wrap-around), as ForOwner: the two must agree.
        var spread = (uint)imageId.GetHashCode() % (uint)SpreadPerOwner;
        return ((long)Fnv1a(owner ?? "") + spread) % Shards;
    }

    /// <summary>The shards an owner's images can be on.</summary>
    public IEnumerable<long> ForOwner(string? owner) =>
        Enumerable.Range(0, SpreadPerOwner).Select(spread => ((long)Fnv1a(owner ?? "") + spread) % Shards).Distinct();

    /// <summary>True when both name the same layout.</summary>
    public bool SameAs(CatalogLayout other) => Shards == other.Shards && SpreadPerOwner == other.SpreadPerOwner;

    /// <inheritdoc />
    public override string ToString() => $"{Shards} shards, spread per owner {SpreadPerOwner}";

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

/// <summary>The silo's <see cref="CatalogLayout"/> from a grain.</summary>
public static class CatalogLayoutExtensions
{
    /// <summary>The layout of the catalog (and task and template indexes) this grain's silo runs with.</summary>
    public static CatalogLayout CatalogShards(this IGrainBase grain) =>
        grain.GrainContext.ActivationServices.GetRequiredService<CatalogLayout>();
}
