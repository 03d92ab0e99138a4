using System.Diagnostics;
using Glance.Bench;
using Glance.Grains.Catalog;
using Glance.Grains.Hosting;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Grows the catalog to each checkpoint (default 1,000 / 10,000 / 100,000 images, through the
// real image grains and SQLite storage) and times list queries at each size. If listing is
// index-backed, the default-order page costs the same at every size.
//   dotnet run -c Release --project bench/CatalogBench [-- 1000 10000 100000]
// With `layout`, measures the catalog's layouts instead (LayoutBench.cs):
//   dotnet run -c Release --project bench/CatalogBench -- layout [IMAGES] [SHARDS,SHARDS,...]
if (args is ["layout", ..])
{
    await Glance.Bench.LayoutBench.RunAsync(args[1..]);
    return;
}
var checkpoints = args.Length > 0 ? args.Select(int.Parse).ToArray() : [1_000, 10_000, 100_000];
var dataDirectory = Path.Combine(Path.GetTempPath(), $"glance-catalog-bench-{Guid.NewGuid():N}");

var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Glance:DataDirectory"] = dataDirectory,
    ["Glance:SiloPort"] = "11911",
    ["Glance:GatewayPort"] = "0",
});
builder.UseOrleans(silo => silo.AddGlanceEmbedded(builder.Configuration));
using var host = builder.Build();
await host.StartAsync();
var grains = host.Services.GetRequiredService<IGrainFactory>();

// Ten projects; project p0 owns half of the images so one owner is large.
var owners = Enumerable.Range(0, 10).Select(i => Caller.Member($"p{i}")).ToArray();
var reader = owners[3];
var catalog = grains.GetGrain<IImageCatalogGrain>(0);
var created = 0;

Console.WriteLine($"| images | create/s | list limit=20 p50 ms | p99 ms | page 50 (marker) p50 ms | name filter p50 ms | sort=name limit=20 p50 ms |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
foreach (var target in checkpoints)
{
    var clock = Stopwatch.StartNew();
    var toCreate = target - created;
    await Parallel.ForAsync(created, target, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
    {
        var owner = i % 2 == 0 ? owners[0] : owners[i % owners.Length];
        var draft = ImageDraft.Empty.With("name", $"image-{i}").With("disk_format", "raw")
            .With("container_format", "bare").With("visibility", i % 5 == 0 ? "community" : "shared")
            .With("rarity", i % 100 == 0 ? "rare" : "common");
        await grains.GetGrain<IImageGrain>(Guid.NewGuid()).CreateAsync(owner, draft);
    });
    var createRate = toCreate / clock.Elapsed.TotalSeconds;
    created = target;

    var firstPage = await Latency.TimeAsync(() => catalog.ListAsync(reader, new ImageQuery { Limit = 20, Visibility = VisibilityScope.All }));
    // A page deep in the list: walk 50 pages with markers and time the last ones.
    var query = new ImageQuery { Limit = 20, Visibility = VisibilityScope.All };
    ImmutableArrayPage page = new(await catalog.ListAsync(reader, query));
    for (var p = 0; p < 49 && page.Last is { } last; p++)
    {
        page = new(await catalog.ListAsync(reader, query with { Marker = last }));
    }
    var deepPage = await Latency.TimeAsync(() => catalog.ListAsync(reader, query with { Marker = page.Last }));
    var filtered = await Latency.TimeAsync(() => catalog.ListAsync(reader, new ImageQuery
    {
        Limit = 20, Visibility = VisibilityScope.All, Filters = [new AttributeFilter("rarity", FilterOp.Eq, ["rare"])],
    }));
    var byName = await Latency.TimeAsync(() => catalog.ListAsync(reader, new ImageQuery
    {
        Limit = 20, Visibility = VisibilityScope.All, Sort = [new SortCriterion(SortKey.Name, false)],
    }), rounds: 20);
    Console.WriteLine($"| {target:N0} | {createRate:N0} | {firstPage.P50:F2} | {firstPage.P99:F2} | {deepPage.P50:F2} | {filtered.P50:F2} | {byName.P50:F2} |");
}

await host.StopAsync();
Directory.Delete(dataDirectory, recursive: true);

internal readonly record struct ImmutableArrayPage(System.Collections.Immutable.ImmutableArray<ImageRecord> Images)
{
    public Guid? Last => Images.IsEmpty ? null : Images[^1].Id;
}
