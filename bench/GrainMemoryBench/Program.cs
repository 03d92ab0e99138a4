using System.Diagnostics;
using Glance.Grains.Catalog;
using Glance.Grains.Hosting;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// What an image costs in memory, from the live heap after a full collection, with N images
// (default 100,000) of typical metadata in the embedded silo (real grains, real SQLite):
//   - per catalog entry: every image grain deactivated, the catalog shards loaded again from storage;
//   - per active image: then every image read once (its image grain and property-set grain
//     activate from storage);
//   - while creating: image grains and their property sets active together.
// The capacity model in the README is computed from these figures.
//   dotnet run -c Release --project bench/GrainMemoryBench [-- 100000]
var count = args.Length > 0 ? int.Parse(args[0]) : 100_000;
var dataDirectory = Path.Combine(Path.GetTempPath(), $"glance-memory-bench-{Guid.NewGuid():N}");

var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Glance:DataDirectory"] = dataDirectory,
    ["Glance:SiloPort"] = "11912",
    ["Glance:GatewayPort"] = "0",
});
builder.UseOrleans(silo => silo.AddGlanceEmbedded(builder.Configuration));
using var host = builder.Build();
await host.StartAsync();
var grains = host.Services.GetRequiredService<IGrainFactory>();
var management = grains.GetGrain<IManagementGrain>(0);
var catalog = grains.GetGrain<IImageCatalogGrain>(0);
var owners = Enumerable.Range(0, 10).Select(i => Caller.Member($"p{i}")).ToArray();
var ids = new Guid[count];

// Typical metadata: the fields a client sends plus four short properties (an image as
// Glance's own tools create one), about 400 bytes of JSON.
static ImageDraft Draft(int i) => ImageDraft.Empty.With("name", $"ubuntu-24.04-server-cloudimg-{i}")
    .With("disk_format", "qcow2").With("container_format", "bare").With("visibility", i % 5 == 0 ? "community" : "private")
    .With("os_distro", "ubuntu").With("os_version", "24.04").With("hw_disk_bus", "virtio").With("architecture", "x86_64");

await ListOnce(); // the catalog shards and the catalog worker exist before the baseline
var baseline = LiveHeap();

var clock = Stopwatch.StartNew();
await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
{
    ids[i] = Guid.NewGuid();
    await grains.GetGrain<IImageGrain>(ids[i]).CreateAsync(owners[i % owners.Length], Draft(i));
});
var createSeconds = clock.Elapsed.TotalSeconds;
var afterCreate = LiveHeap();
var activeAfterCreate = await management.GetTotalActivationCount();

// Every grain deactivated (shards included), then only the shards loaded again.
await management.ForceActivationCollection(TimeSpan.Zero);
await Task.Delay(TimeSpan.FromSeconds(2));
var activeAfterCollection = await management.GetTotalActivationCount();
await ListOnce();
var catalogOnly = LiveHeap();

// Every image read once: one image grain activation each (its state read from SQLite).
clock.Restart();
await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
    await grains.GetGrain<IImageGrain>(ids[i]).GetAsync(owners[i % owners.Length]));
var readSeconds = clock.Elapsed.TotalSeconds;
var afterRead = LiveHeap();
var activeAfterRead = await management.GetTotalActivationCount();

Console.WriteLine($"images: {count:N0} (created in {createSeconds:F1} s, read in {readSeconds:F1} s); activations after create {activeAfterCreate:N0}, after collection {activeAfterCollection:N0}, after reads {activeAfterRead:N0}");
Console.WriteLine("| live heap (after a full GC) | MiB | bytes per image |");
Console.WriteLine("|---|---:|---:|");
Row("start (catalog empty)", baseline, 0);
Row("catalog only (every image grain deactivated)", catalogOnly, catalogOnly - baseline);
Row("catalog + each image active after a read (image grain + property-set grain)", afterRead, afterRead - catalogOnly);
Row("right after creating (image grains + property sets active)", afterCreate, afterCreate - catalogOnly);
Console.WriteLine($"process working set now: {Environment.WorkingSet / 1048576.0:N0} MiB");

await host.StopAsync();
Directory.Delete(dataDirectory, recursive: true);

void Row(string what, long heap, long delta) =>
    Console.WriteLine($"| {what} | {heap / 1048576.0:N1} | {(delta == 0 ? "" : (delta / (double)count).ToString("N0"))} |");

async Task ListOnce() => await catalog.ListAsync(owners[0], new ImageQuery { Limit = 1, Visibility = VisibilityScope.All });

static long LiveHeap()
{
    for (var i = 0; i < 3; i++)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }
    return GC.GetTotalMemory(forceFullCollection: true);
}
