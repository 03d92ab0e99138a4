using Glance.Grains.Images;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Glance.Grains.Catalog;

/// <summary>
/// An in-memory index of one shard's images, loaded from the <see cref="ICatalogStore"/>
/// on activation. Entries are also kept in a set ordered newest-first, so the default list
/// order pages without sorting (cost grows with the page, not with the shard). A shard past
/// <see cref="CatalogOptions.ShardEntryWarning"/> entries logs a warning (once per activation): its
/// memory is bounded by the layout, not by this grain (see <see cref="CatalogLayout"/>).
/// </summary>
[GrainType("glance.catalog-shard")]
[Reentrant] // Queries run between writes; writes re-check versions after awaiting storage.
public sealed class CatalogShardGrain(
    ICatalogStore store,
    PropertyProtections protections,
    TimeProvider clock,
    IOptions<CatalogOptions> options,
    ILogger<CatalogShardGrain> logger) : Grain, ICatalogShardGrain
{
    private readonly Dictionary<Guid, CatalogEntry> _entries = [];
    private readonly Dictionary<string, ProjectUsage> _usageByOwner = new(StringComparer.Ordinal);
    private readonly Dictionary<ImageStatus, long> _countByStatus = [];
    private readonly RecentRemovals _removed = new(clock);
    private readonly SortedSet<ImageRecord> _newestFirst = new(ImageOrdering.Default);
    private bool _warned;

    private long Shard => this.GetPrimaryKeyLong();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var entry in await store.LoadShardAsync(Shard))
        {
            Put(entry);
            if (entry.Unsettled)
            {
                // A write cut short between its transactions: the image sends its entry again (not
                // awaited: its call comes back here, once this activation is done).
                logger.LogWarning("The catalog entry of image {ImageId} was written in part; asking the image to publish it again", entry.Image.Id);
                GrainFactory.GetGrain<IImageMaintenanceGrain>(entry.Image.Id).PublishToCatalogAsync().Ignore();
            }
        }
        WarnIfLarge();
    }

    async Task ICatalogShardGrain.UpsertAsync(CatalogEntry entry)
    {
        if (IsStale(entry.Image.Id, entry.Version))
        {
            return;
        }
        await store.UpsertAsync(Shard, entry);
        if (!IsStale(entry.Image.Id, entry.Version))
        {
            Put(entry);
            WarnIfLarge();
        }
    }

    async Task ICatalogShardGrain.RemoveAsync(Guid imageId, long version)
    {
        if (IsStale(imageId, version))
        {
            return;
        }
        await store.RemoveAsync(Shard, imageId, version);
        if (!IsStale(imageId, version))
        {
            Drop(imageId);
            _removed.Add(imageId, version);
        }
    }

    Task<long> ICatalogShardGrain.UsageAsync(string owner) =>
        Task.FromResult(_usageByOwner.TryGetValue(owner, out var usage) ? usage.Bytes + usage.StagedBytes : 0);

    Task<ProjectUsage> ICatalogShardGrain.ProjectUsageAsync(string owner, ImmutableArray<Guid> excluded)
    {
        var usage = _usageByOwner.GetValueOrDefault(owner, ProjectUsage.None);
        foreach (var id in excluded.Distinct())
        {
            if (_entries.TryGetValue(id, out var entry) && entry.Image.Owner == owner)
            {
                usage -= ProjectUsage.Of(entry.Image);
            }
        }
        return Task.FromResult(usage);
    }

    Task<ImmutableDictionary<ImageStatus, long>> ICatalogShardGrain.CountByStatusAsync() =>
        Task.FromResult(_countByStatus.Where(c => c.Value > 0).ToImmutableDictionary());

    Task<ImmutableArray<ImageRecord>> ICatalogShardGrain.QueryAsync(Caller caller, ImageQuery query, ImageRecord? after)
    {
        var ordering = new ImageOrdering(query.Sort);
        var filter = new ImageFilter(caller, query, protections);
        var limit = Math.Clamp(query.Limit, 0, ImageQuery.MaxLimit);
        IEnumerable<ImageRecord> candidates;
        if (ordering.IsNewestFirst)
        {
            // Walk the index from just after the marker; stop as soon as the page is full.
            candidates = after is null || _newestFirst.Count == 0 ? _newestFirst
                : ordering.Compare(after, _newestFirst.Max) >= 0 ? []
                : _newestFirst.GetViewBetween(after, _newestFirst.Max).Where(i => ordering.Compare(i, after) > 0);
        }
        else if (ordering.IsOldestFirst)
        {
            // The same index backwards: everything newer than the marker, oldest first.
            candidates = after is null || _newestFirst.Count == 0 ? _newestFirst.Reverse()
                : ImageOrdering.Default.Compare(_newestFirst.Min, after) >= 0 ? []
                : _newestFirst.GetViewBetween(_newestFirst.Min!, after).Reverse().Where(i => ordering.Compare(i, after) > 0);
        }
        else
        {
            // No index for this order: one pass keeping the best `limit` matches (O(n log limit)).
            var matches = _entries.Values
                .Where(e => (after is null || ordering.Compare(e.Image, after) > 0) && filter.Matches(e))
                .Select(e => e.Image);
            return Task.FromResult(ForCaller(caller, Smallest(matches, ordering, limit), protections));
        }
        var page = candidates.Where(i => filter.Matches(_entries[i.Id])).Take(limit).ToImmutableArray();
        return Task.FromResult(ForCaller(caller, page, protections));
    }

    /// <summary>The page as the caller may see it (properties it may not see left out).</summary>
    private static ImmutableArray<ImageRecord> ForCaller(Caller caller, ImmutableArray<ImageRecord> page, PropertyProtections protections)
    {
        for (var i = 0; i < page.Length; i++)
        {
            if (!page[i].PropertyAccess.IsEmpty || (protections.Enabled && !page[i].Properties.IsEmpty))
            {
                return page.Select(image => ImageAccess.ForCaller(caller, image, protections)).ToImmutableArray();
            }
        }
        return page;
    }

    /// <summary>The first <paramref name="count"/> items in <paramref name="ordering"/>, sorted.</summary>
    private static ImmutableArray<ImageRecord> Smallest(IEnumerable<ImageRecord> items, ImageOrdering ordering, int count)
    {
        if (count == 0)
        {
            return [];
        }
        // A max-heap of the best items so far: the root is the worst one kept.
        var heap = new PriorityQueue<ImageRecord, ImageRecord>(Comparer<ImageRecord>.Create((x, y) => ordering.Compare(y, x)));
        foreach (var item in items)
        {
            if (heap.Count < count)
            {
                heap.Enqueue(item, item);
            }
            else if (ordering.Compare(item, heap.Peek()) < 0)
            {
                heap.EnqueueDequeue(item, item);
            }
        }
        var best = new ImageRecord[heap.Count];
        for (var i = best.Length - 1; i >= 0; i--)
        {
            best[i] = heap.Dequeue();
        }
        return [.. best];
    }

    private bool IsStale(Guid imageId, long version) =>
        (_entries.TryGetValue(imageId, out var current) && current.Version >= version)
        || _removed.Covers(imageId, version);

    private void WarnIfLarge()
    {
        if (!_warned && _entries.Count > options.Value.ShardEntryWarning)
        {
            _warned = true;
            logger.LogWarning("Catalog shard {Shard} holds {Count} entries in memory, more than {Section}:ShardEntryWarning ({Limit}); "
                + "a new cluster with more shards (or a wider spread per owner) keeps shards smaller",
                Shard, _entries.Count, CatalogOptions.Section, options.Value.ShardEntryWarning);
        }
    }

    private void Put(CatalogEntry entry)
    {
        Drop(entry.Image.Id);
        _entries[entry.Image.Id] = entry;
        _newestFirst.Add(entry.Image);
        Count(entry.Image, +1);
    }

    private void Drop(Guid imageId)
    {
        if (_entries.Remove(imageId, out var old))
        {
            _newestFirst.Remove(old.Image);
            Count(old.Image, -1);
        }
    }

    /// <summary>Keeps the totals that quotas and metrics ask for, so that they cost O(1), not a scan of the shard.</summary>
    private void Count(ImageRecord image, int sign)
    {
        _countByStatus[image.Status] = _countByStatus.GetValueOrDefault(image.Status) + sign;
        if (image.Owner is { } owner)
        {
            var share = ProjectUsage.Of(image);
            var usage = _usageByOwner.GetValueOrDefault(owner, ProjectUsage.None);
            usage = sign > 0 ? usage + share : usage - share;
            if (usage.Images == 0)
            {
                _usageByOwner.Remove(owner);
            }
            else
            {
                _usageByOwner[owner] = usage;
            }
        }
    }
}
