using System.Diagnostics;
using System.Collections.Immutable;
using CultureInfo = System.Globalization.CultureInfo;
using Glance.Grains.Catalog;
using Glance.Grains.Hosting;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Glance.Bench;

/// <summary>
/// The catalog's layouts (<c>Glance:Catalog:Shards</c>, spread per owner = shards): for each shard
/// count, loads IMAGES catalog entries into the shards in-process (real shard grains, SQLite), then
/// restarts the silo and measures the managed heap before and after the shards load their entries
/// from the store (forced, compacting GCs), which is bytes per entry, and the list latency across
/// that many shards (the fan-out cost of more shards). Prints figures; asserts nothing.
/// </summary>
internal static class LayoutBench
{
    public static async Task RunAsync(string[] args)
    {
        var images = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
        var shardCounts = args.Length > 1 ? args[1].Split(',').Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray() : [4, 16, 64];
        Console.WriteLine($"{images:N0} catalog entries (10 projects, p0 owns half; 3 properties, 2 tags, checksums each); spread per owner = shards");
        Console.WriteLine("| shards | load entries/s | heap before MiB | heap after MiB | bytes/entry | shard load s | list limit=20 p50 ms | p99 ms | filter p50 ms | sort=name p50 ms |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var port = 11921;
        foreach (var shards in shardCounts)
        {
            var directory = Path.Combine(Path.GetTempPath(), $"glance-layout-bench-{Guid.NewGuid():N}");
            try
            {
                var layout = new CatalogLayout(shards, shards);
                double loadRate;
                using (var host = await StartAsync(directory, shards, port++))
                {
                    loadRate = await LoadAsync(host.Services.GetRequiredService<IGrainFactory>(), layout, images);
                    await host.StopAsync();
                }
                // A fresh silo: the heap without the entries, then with them as the shards load them from the store.
                using (var host = await StartAsync(directory, shards, port++))
                {
                    var grains = host.Services.GetRequiredService<IGrainFactory>();
                    var before = Heap();
                    var clock = Stopwatch.StartNew();
                    var counts = await grains.GetGrain<ICatalogStatsGrain>(0).CountByShardAsync();
                    var shardLoad = clock.Elapsed.TotalSeconds;
                    var after = Heap();
                    var loaded = counts.Sum(c => c.Values.Sum());
                    if (loaded != images)
                    {
                        throw new InvalidOperationException($"the shards hold {loaded} entries, not {images}");
                    }
                    var catalog = grains.GetGrain<IImageCatalogGrain>(0);
                    var reader = Caller.Member("p3");
                    var first = await Latency.TimeAsync(() => catalog.ListAsync(reader, new ImageQuery { Limit = 20, Visibility = VisibilityScope.All }));
                    var filtered = await Latency.TimeAsync(() => catalog.ListAsync(reader, new ImageQuery
                    {
                        Limit = 20, Visibility = VisibilityScope.All, Filters = [new AttributeFilter("rarity", FilterOp.Eq, ["rare"])],
                    }), rounds: 20);
                    var byName = await Latency.TimeAsync(() => catalog.ListAsync(reader, new ImageQuery
                    {
                        Limit = 20, Visibility = VisibilityScope.All, Sort = [new SortCriterion(SortKey.Name, false)],
                    }), rounds: 20);
                    Console.WriteLine($"| {shards} | {loadRate:N0} | {before / 1048576.0:N1} | {after / 1048576.0:N1} | {(after - before) / (double)images:N0} "
                        + $"| {shardLoad:N1} | {first.P50:F2} | {first.P99:F2} | {filtered.P50:F2} | {byName.P50:F2} |");
                    GC.KeepAlive(counts);
                    await host.StopAsync();
                }
            }
            finally
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static async Task<IHost> StartAsync(string directory, int shards, int port)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Glance:DataDirectory"] = directory,
            ["Glance:SiloPort"] = port.ToString(CultureInfo.InvariantCulture),
            ["Glance:GatewayPort"] = "0",
            ["Glance:Catalog:Shards"] = shards.ToString(CultureInfo.InvariantCulture),
            ["Glance:Catalog:SpreadPerOwner"] = shards.ToString(CultureInfo.InvariantCulture),
        });
        builder.UseOrleans(silo => silo.AddGlanceEmbedded(builder.Configuration));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    // Entries as an image grain publishes them, straight to their shards (no image grain is activated).
    private static async Task<double> LoadAsync(IGrainFactory grains, CatalogLayout layout, int images)
    {
        var clock = Stopwatch.StartNew();
        var start = DateTimeOffset.UnixEpoch.AddYears(55);
        await Parallel.ForAsync(0, images, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
        {
            var owner = i % 2 == 0 ? "p0" : $"p{i % 10}";
            var id = Guid.NewGuid();
            var at = start.AddSeconds(i);
            var image = new ImageRecord
            {
                Id = id,
                Name = $"image-{i}",
                Status = ImageStatus.Active,
                Visibility = i % 5 == 0 ? ImageVisibility.Community : ImageVisibility.Shared,
                Checksum = Convert.ToHexStringLower(id.ToByteArray()),
                OsHashAlgo = "sha512",
                OsHashValue = Convert.ToHexStringLower(System.Security.Cryptography.SHA512.HashData(id.ToByteArray())),
                Size = 1L << 30,
                VirtualSize = 10L << 30,
                ContainerFormat = "bare",
                DiskFormat = "qcow2",
                Owner = owner,
                CreatedAt = at,
                UpdatedAt = at,
                Tags = ["bench", $"batch-{i / 1000}"],
                Properties = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, new Dictionary<string, string>
                {
                    ["os_distro"] = "ubuntu",
                    ["hw_disk_bus"] = "virtio",
                    ["rarity"] = i % 100 == 0 ? "rare" : "common",
                }),
            };
            await grains.GetGrain<ICatalogShardGrain>(layout.Of(owner, id)).UpsertAsync(new CatalogEntry(image, ImmutableDictionary<string, MemberStatus>.Empty, 1));
        });
        return images / clock.Elapsed.TotalSeconds;
    }

    private static long Heap()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
