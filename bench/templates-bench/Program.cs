using System.Diagnostics;
using System.Text.Json;
using Glance.Grains.Hosting;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Storage;
using Glance.Grains.Templates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Renders the shipped WordPress example (image by selector, four parameters, one hidden) from 16
// concurrent callers for a few seconds, then times single template and image reads.
//   dotnet run -c Release --project bench/templates-bench [-- seconds]
var seconds = args.Length > 0 ? int.Parse(args[0]) : 5;
const int concurrency = 16;
var dataDirectory = Path.Combine(Path.GetTempPath(), $"glance-templates-bench-{Guid.NewGuid():N}");

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
var caller = Caller.Member("bench");

// The example selects the newest active image with os_distro=ubuntu that the caller may see.
var imageId = Guid.NewGuid();
var imageGrain = grains.GetGrain<IImageGrain>(imageId);
await imageGrain.CreateAsync(caller, ImageDraft.Empty.With("name", "ubuntu-24.04").With("disk_format", "raw")
    .With("container_format", "bare").With("os_distro", "ubuntu"));
var ticket = await imageGrain.BeginUploadAsync(caller, UploadTarget.File, 3);
using (var bytes = new MemoryStream([1, 2, 3]))
{
    await host.Services.GetRequiredService<IImageDataStore>().WriteAsync(ticket.DataKey, bytes, CancellationToken.None);
}
await imageGrain.CompleteUploadAsync(ticket.UploadId, new UploadedData(3, "m", "s"));

var templateId = ShippedTemplates.Load("wordpress").Id;
var render = grains.GetGrain<ITemplateRenderGrain>(0);
var request = new RenderRequest("$default", JsonSerializer.Serialize(new
{
    admin_email = "admin@example.org", db_password = "correct-horse-battery", site_names = "example.org,www.example.org",
}));
var sample = await render.RenderAsync(caller, templateId, request);
Console.WriteLine($"WordPress example renders {sample.UserData.Length} bytes of user_data for image {sample.ImageId}");

// Warm-up, then the measured run.
await Parallel.ForAsync(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (_, _) => await render.RenderAsync(caller, templateId, request));
var renders = 0L;
var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
var until = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
{
    while (until.Elapsed.TotalSeconds < seconds)
    {
        await render.RenderAsync(caller, templateId, request);
        Interlocked.Increment(ref renders);
    }
})));
var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
// The machine may be shared: CPU time per render says what the render costs whatever else runs.
Console.WriteLine($"| renders/s (concurrency {concurrency}, {seconds} s, wall clock) | {renders / until.Elapsed.TotalSeconds:0} |");
Console.WriteLine($"| CPU per render (all threads of the process) | {cpu.TotalMicroseconds / renders:0} µs |");
Console.WriteLine($"| renders/s if the process had all {Environment.ProcessorCount} cores | {renders / cpu.TotalSeconds * Environment.ProcessorCount:0} |");

async Task<double> RatePerSecond(Func<Task> action)
{
    var count = 0L;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
    {
        while (clock.Elapsed.TotalSeconds < 2)
        {
            await action();
            Interlocked.Increment(ref count);
        }
    })));
    return count / clock.Elapsed.TotalSeconds;
}
var catalogQuery = new Glance.Grains.Catalog.ImageQuery
{
    Limit = 1, Visibility = Glance.Grains.Catalog.VisibilityScope.All, MemberStatus = null,
    Sort = [new Glance.Grains.Catalog.SortCriterion(Glance.Grains.Catalog.SortKey.CreatedAt, true)],
    Filters = [new("status", Glance.Grains.Catalog.FilterOp.Eq, ["active"]), new("os_distro", Glance.Grains.Catalog.FilterOp.Eq, ["ubuntu"])],
};
var imageCatalog = grains.GetGrain<Glance.Grains.Catalog.IImageCatalogGrain>(0);
Console.WriteLine($"| (part) selector query/s | {await RatePerSecond(() => imageCatalog.ListAsync(caller, catalogQuery)):0} |");
var source = await grains.GetGrain<ITemplateGrain>(templateId).GetSourceAsync(caller, "$default");
Console.WriteLine($"| (part) version read/s | {await RatePerSecond(() => grains.GetGrain<ITemplateGrain>(templateId).GetSourceAsync(caller, "$default")):0} |");
var spec = TemplateSpec.Parse(source.Version.Json);
var model = new Dictionary<string, Fluid.Values.FluidValue>
{
    ["parameters"] = TemplateSandbox.Value(new Dictionary<string, object?> { ["admin_email"] = "a@b", ["db_password"] = "correct-horse-battery", ["php_workers"] = 4m, ["site_names"] = new List<object?> { "a", "b" } }),
    ["image"] = TemplateSandbox.Value(new Dictionary<string, object?> { ["name"] = "x" }),
    ["template"] = TemplateSandbox.Value(new Dictionary<string, object?> { ["name"] = "x", ["version"] = 1L }),
};
Console.WriteLine($"| (part) sandbox render/s | {await RatePerSecond(() => { TemplateSandbox.Render(spec.Configuration, model, true, "x"); return Task.CompletedTask; }):0} |");

var template = grains.GetGrain<ITemplateGrain>(templateId);
Console.WriteLine("| read (sequential, 20,000 calls) | p50 µs | p99 µs |");
Console.WriteLine("|---|---:|---:|");
foreach (var (name, read) in new (string, Func<Task>)[]
{
    ("template GetAsync (with default version)", () => template.GetAsync(caller)),
    ("image GetAsync", () => imageGrain.GetAsync(caller)),
})
{
    for (var i = 0; i < 2000; i++)
    {
        await read();
    }
    var times = new double[20_000];
    for (var i = 0; i < times.Length; i++)
    {
        var start = Stopwatch.GetTimestamp();
        await read();
        times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
    }
    Array.Sort(times);
    Console.WriteLine($"| {name} | {times[times.Length / 2]:0} | {times[times.Length * 99 / 100]:0} |");
}
await host.StopAsync();
Directory.Delete(dataDirectory, recursive: true);
