using Glance.Grains.Catalog;
using Microsoft.Extensions.Options;

namespace Glance.Grains.Extensions.Quotas;

/// <summary>
/// The ledger behind <see cref="IProjectQuotaGrain"/>. Not reentrant: a reservation reads the
/// catalog's usage afresh and records itself before the next one is looked at, which is what
/// makes concurrent writers exact. Reservations live in memory with a lease: a lost activation or
/// a dead streaming node leaves nothing reserved for long.
/// </summary>
internal sealed class ProjectQuotaGrain(IOptions<QuotaOptions> options, TimeProvider clock) : Grain, IProjectQuotaGrain
{
    private const long MiB = 1 << 20;
    private readonly Dictionary<Guid, (Guid? Image, QuotaNeed Need, DateTimeOffset Expires)> _reserved = [];

    private string Project => this.GetPrimaryKeyString();

    public async Task<ImmutableArray<QuotaReport>> UsageAsync()
    {
        var used = await UsedAsync();
        return [.. QuotaOptions.Keys.Select(key => new QuotaReport(key, options.Value.Limit(Project, key),
            key is QuotaOptions.ImageSizeTotal or QuotaOptions.ImageStageTotal ? Of(used, key) / MiB : Of(used, key)))];
    }

    public async Task<long?> ReserveAsync(Guid reservation, Guid? image, QuotaNeed need)
    {
        var used = await UsedAsync(image);
        long? bytesReserved = null;
        var granted = need;
        foreach (var key in QuotaOptions.Keys)
        {
            var limit = options.Value.Limit(Project, key);
            var (unit, wanted) = key switch
            {
                QuotaOptions.ImageSizeTotal => (MiB, need.Bytes),
                QuotaOptions.ImageStageTotal => (MiB, need.StagedBytes),
                QuotaOptions.ImageCountTotal => (1L, (long?)need.Images),
                _ => (1L, (long?)need.Uploading),
            };
            if (limit < 0 || wanted == 0)
            {
                continue;
            }
            var headroom = limit * unit - Of(used, key);
            if (wanted is null ? headroom <= 0 : wanted > headroom)
            {
                throw GlanceException.TooLarge(
                    $"Quota exceeded: {key} (limit {limit}{(unit == MiB ? " MiB" : "")}, in use {Of(used, key) / unit}{(unit == MiB ? " MiB" : "")}) does not allow this.");
            }
            if (unit == MiB)
            {
                var bytes = wanted ?? headroom;
                bytesReserved = Math.Min(bytesReserved ?? long.MaxValue, bytes);
                granted = key == QuotaOptions.ImageSizeTotal ? granted with { Bytes = bytes } : granted with { StagedBytes = bytes };
            }
        }
        _reserved[reservation] = (image, granted with { Bytes = granted.Bytes ?? 0, StagedBytes = granted.StagedBytes ?? 0 }, clock.GetUtcNow() + options.Value.ReservationLease);
        return bytesReserved;
    }

    public Task RetainAsync(Guid reservation, Guid upload)
    {
        if (_reserved.Remove(reservation, out var held))
        {
            _reserved[upload] = held with { Expires = clock.GetUtcNow() + options.Value.ReservationLease };
        }
        return Task.CompletedTask;
    }

    public Task TouchAsync(Guid reservation)
    {
        if (_reserved.TryGetValue(reservation, out var held))
        {
            _reserved[reservation] = held with { Expires = clock.GetUtcNow() + options.Value.ReservationLease };
        }
        return Task.CompletedTask;
    }

    public Task ReleaseAsync(Guid reservation)
    {
        _reserved.Remove(reservation);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The catalog's count of the project's images, less the images reservations stand for, plus
    /// what is reserved (expired reservations dropped); <paramref name="also"/> is left out too.
    /// </summary>
    private async Task<ProjectUsage> UsedAsync(Guid? also = null)
    {
        var now = clock.GetUtcNow();
        foreach (var expired in _reserved.Where(r => r.Value.Expires < now).Select(r => r.Key).ToList())
        {
            _reserved.Remove(expired);
        }
        ImmutableArray<Guid> excluded = [.. _reserved.Values.Select(r => r.Image).Append(also).OfType<Guid>().Distinct()];
        var shards = await Task.WhenAll(this.CatalogShards().ForOwner(Project).Select(s => GrainFactory.GetGrain<ICatalogShardGrain>(s).ProjectUsageAsync(Project, excluded)));
        var used = shards.Aggregate(ProjectUsage.None, (sum, shard) => sum + shard);
        return _reserved.Values.Aggregate(used, (sum, r) => sum + new ProjectUsage(r.Need.Images, r.Need.Bytes ?? 0, r.Need.StagedBytes ?? 0, r.Need.Uploading));
    }

    private static long Of(ProjectUsage used, string key) => key switch
    {
        QuotaOptions.ImageSizeTotal => used.Bytes,
        QuotaOptions.ImageStageTotal => used.StagedBytes,
        QuotaOptions.ImageCountTotal => used.Images,
        _ => used.Uploading,
    };
}
