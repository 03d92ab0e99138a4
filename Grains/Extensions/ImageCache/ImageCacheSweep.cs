using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Glance.Grains.Extensions.ImageCache;

/// <summary>Runs <see cref="ImageCache.SweepAsync"/> every <see cref="ImageCacheOptions.SweepInterval"/> on an API node.</summary>
public sealed class ImageCacheSweep(ImageCache cache, ILogger<ImageCacheSweep> logger, TimeProvider clock) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(cache.Options.SweepInterval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await cache.SweepAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Image cache sweep failed; it runs again in {Interval}", cache.Options.SweepInterval);
            }
        }
    }
}
