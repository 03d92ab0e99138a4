using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Tasks;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// Import progress: while a web-download runs, the image's tasks show the bytes done growing,
/// the total (the source's Content-Length) and Glance's "Copied N MiB" message; once the task has
/// ended there is no progress, only its outcome.
/// </summary>
public sealed class ImportProgressTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private readonly LoopbackHttpServer _web = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _web.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task A_throttled_web_download_reports_growing_progress_and_its_total()
    {
        await using var cluster = await GlanceTestCluster.StartAsync(_directory.Path, settings: new Dictionary<string, string?>
        {
            ["Glance:Import:AllowedPorts:0"] = _web.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Glance:Import:AllowedHosts:0"] = "127.0.0.1",
        });
        var owner = Caller.Member(NewProject());
        var data = new byte[(4 << 20) + 12345];
        new Random(5).NextBytes(data);
        // About 2.5 s: 128 KiB every 75 ms.
        _web.Throttled("/slow.raw", data, piece: 128 << 10, pause: TimeSpan.FromMilliseconds(75));
        var id = (await cluster.CreateAsync(owner, ImageDraft.Empty.With("disk_format", "raw").With("container_format", "bare"))).Id;

        await cluster.Image(id).ImportAsync(owner, ImportRequest.WebDownload(_web.Url("/slow.raw")));
        var seen = new List<ImageTask>();
        var fromTasksApi = new List<ImageTask>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        ImageTask task;
        while (true)
        {
            task = Assert.Single(await cluster.Image(id).ListTasksAsync(owner));
            if (task.Status is ImageTaskStatus.Success or ImageTaskStatus.Failure)
            {
                break;
            }
            if (task.Status == ImageTaskStatus.Processing)
            {
                seen.Add(task);
                // The tasks API's view of it asks the image for the same progress.
                var shown = await cluster.Client.GetGrain<ITaskGrain>(task.Id).GetAsync(Caller.Admin("admin"));
                if (shown.Status == ImageTaskStatus.Processing)
                {
                    fromTasksApi.Add(shown);
                }
            }
            Assert.True(DateTime.UtcNow < deadline, "the import did not end");
            await Task.Delay(50);
        }

        Assert.Equal(ImageTaskStatus.Success, task.Status);
        Assert.Null(task.BytesDone);
        Assert.Equal("", task.Message);
        Assert.NotEmpty(seen);
        Assert.All(seen, t =>
        {
            // Unknown until the source's headers have come.
            Assert.True(t.BytesTotal is null ? t.BytesDone == 0 : t.BytesTotal == data.Length, $"{t.BytesDone} of {t.BytesTotal}");
            Assert.InRange(t.BytesDone!.Value, 0, data.Length);
            Assert.Equal($"Copied {t.BytesDone >> 20} MiB", t.Message);
        });
        // Never backwards, and it grew through at least three distinct values on the way.
        var done = seen.Select(t => t.BytesDone!.Value).ToList();
        Assert.Equal(done.Order(), done);
        Assert.True(done.Distinct().Count() >= 3, $"progress seen: {string.Join(", ", done.Distinct())}");
        Assert.True(done[^1] >= 3L << 20, $"progress seen: {string.Join(", ", done.Distinct())}");
        Assert.Contains(fromTasksApi, t => t.BytesDone > 0 && t.BytesTotal == data.Length && t.Message == $"Copied {t.BytesDone >> 20} MiB");
    }
}
