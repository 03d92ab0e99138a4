using System.Diagnostics.Metrics;
using Glance.Grains.Catalog;

namespace Glance.Grains.Telemetry;

/// <summary>
/// The gauge <c>glance.images</c> (by <c>status</c>): images the catalog lists, cluster-wide, counted
/// by the catalog shards from the entries they hold in memory, so no image grain is activated.
/// Every node reports the same cluster-wide numbers: aggregate with <c>max</c>, not <c>sum</c>.
/// Counted when <see cref="RefreshAsync"/> runs (the API's <c>/metrics</c> runs it before each scrape);
/// a refresh that fails keeps the last numbers. The same count feeds <c>glance.catalog.shard.entries</c>
/// (by <c>shard</c>): entries each shard holds in memory, to watch a shard's size against the layout.
/// </summary>
public sealed class ImageStatusGauge
{
    private static ImmutableDictionary<ImageStatus, long> s_counts = ImmutableDictionary<ImageStatus, long>.Empty;
    private static ImmutableArray<long> s_shardEntries = [];

    private static readonly ObservableGauge<long> Gauge = GlanceMetrics.Meter.CreateObservableGauge("glance.images",
        () => Enum.GetValues<ImageStatus>().Where(s => s != ImageStatus.Deleted)
            .Select(s => new Measurement<long>(s_counts.GetValueOrDefault(s), new KeyValuePair<string, object?>("status", WireNames.Of(s)))),
        "{image}", "Images listed in the catalog (cluster-wide), by status");

    private static readonly ObservableGauge<long> ShardGauge = GlanceMetrics.Meter.CreateObservableGauge("glance.catalog.shard.entries",
        () => s_shardEntries.Select((count, shard) => new Measurement<long>(count, new KeyValuePair<string, object?>("shard", shard.ToString(System.Globalization.CultureInfo.InvariantCulture)))),
        "{entry}", "Entries (images) a catalog shard holds in memory");

    private readonly IGrainFactory _grains;
    private readonly object _lock = new();
    private Task? _refreshing;

    /// <summary>A gauge fed from the catalog shards <paramref name="grains"/> reaches.</summary>
    public ImageStatusGauge(IGrainFactory grains)
    {
        _grains = grains;
        _ = Gauge;
        _ = ShardGauge;
    }

    /// <summary>Counts again; concurrent callers share one count.</summary>
    public Task RefreshAsync()
    {
        lock (_lock)
        {
            return _refreshing is { IsCompleted: false } running ? running : _refreshing = CountAsync();
        }
    }

    private async Task CountAsync()
    {
        // The silo knows the layout; an API node without a silo inside need not.
        var shards = await _grains.GetGrain<ICatalogStatsGrain>(0).CountByShardAsync();
        s_shardEntries = [.. shards.Select(s => s.Values.Sum())];
        s_counts = shards.SelectMany(s => s).GroupBy(c => c.Key).ToImmutableDictionary(g => g.Key, g => g.Sum(c => c.Value));
    }
}
