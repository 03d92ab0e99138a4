using System.Security.Cryptography;
using System.Text.Json;
using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Storage;
using Orleans.Runtime;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// Imports driven through the image grain (spec 1.4, 1.6): glance-direct turns the staged blob
/// into the image's data, web-download streams a loopback URL; each records a task carrying
/// the caller's request id; an import cut short by a crash is rolled back at start-up, and a
/// delete during an import stops it and leaves no bytes. Each test runs its own cluster.
/// </summary>
public sealed class ImportTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private readonly LoopbackHttpServer _web = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _web.DisposeAsync();
        _directory.Dispose();
    }

    private string ImagesDirectory => Path.Combine(_directory.Path, "images");

    private string[] FilesOf(Guid id) =>
        Directory.Exists(ImagesDirectory) ? [.. Directory.GetFiles(ImagesDirectory, $"{id:N}*").Select(Path.GetFileName).OfType<string>()] : [];

    private Task<GlanceTestCluster> StartAsync() => GlanceTestCluster.StartAsync(_directory.Path, settings: new Dictionary<string, string?>
    {
        ["Glance:Import:AllowedPorts:0"] = _web.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Glance:Import:AllowedHosts:0"] = "127.0.0.1",
    });

    private static byte[] Payload(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static Task<ImageRecord> CreateImportableAsync(GlanceTestCluster cluster, Caller owner) =>
        cluster.CreateAsync(owner, ImageDraft.Empty.With("disk_format", "raw").With("container_format", "bare"));

    /// <summary>Stages <paramref name="data"/> as the HTTP tier does: ticket, bytes into the store, completion.</summary>
    private async Task<UploadTicket> StageAsync(GlanceTestCluster cluster, Caller owner, Guid id, byte[] data)
    {
        var ticket = await cluster.Image(id).BeginUploadAsync(owner, UploadTarget.Stage, data.Length);
        using (var source = new MemoryStream(data))
        {
            await new FileImageDataStore(ImagesDirectory).WriteAsync(ticket.DataKey, source, CancellationToken.None);
        }
        await cluster.Image(id).CompleteUploadAsync(ticket.UploadId, new UploadedData(data.Length,
            Convert.ToHexStringLower(MD5.HashData(data)), Convert.ToHexStringLower(SHA512.HashData(data))));
        return ticket;
    }

    private static async Task<ImageRecord> WaitForAsync(GlanceTestCluster cluster, Caller caller, Guid id, ImageStatus status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var image = await cluster.Image(id).GetAsync(caller);
            if (image.Status == status)
            {
                return image;
            }
            Assert.True(DateTime.UtcNow < deadline, $"image {id} never became {status} (last: {image.Status})");
            await Task.Delay(50);
        }
    }

    private static async Task UntilAsync(Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task The_virtual_size_measured_while_staging_survives_a_restart_and_is_the_imported_images()
    {
        var owner = new Caller(NewProject(), "user-1", ["member"]);
        var data = Payload(1000, seed: 9);
        Guid id;
        await using (var first = await StartAsync())
        {
            id = (await first.CreateAsync(owner, ImageDraft.Empty.With("disk_format", "qcow2").With("container_format", "bare"))).Id;
            var ticket = await first.Image(id).BeginUploadAsync(owner, UploadTarget.Stage, data.Length);
            await new FileImageDataStore(ImagesDirectory).WriteAsync(ticket.DataKey, new MemoryStream(data), CancellationToken.None);
            // What the hashing stream reports for a qcow2 header stating 1 GiB.
            var staged = await first.Image(id).CompleteUploadAsync(ticket.UploadId, new UploadedData(data.Length, "m", "s", 1L << 30, "qcow2"));
            Assert.Null(staged.VirtualSize); // shown once imported, like the hashes
        }

        await using var second = await StartAsync();
        await second.Image(id).ImportAsync(owner, ImportRequest.GlanceDirect());
        var image = await WaitForAsync(second, owner, id, ImageStatus.Active);
        Assert.Equal(1L << 30, image.VirtualSize);
        Assert.Equal(data.Length, image.Size);
    }

    [Fact]
    public async Task Glance_direct_makes_the_staged_bytes_the_image_data_and_records_a_task_with_the_request_id()
    {
        await using var cluster = await StartAsync();
        var owner = new Caller(NewProject(), "user-1", ["member"]);
        var data = Payload(700_000, seed: 5);
        var id = (await CreateImportableAsync(cluster, owner)).Id;
        var ticket = await StageAsync(cluster, owner, id, data);

        var staged = await cluster.Image(id).GetAsync(owner);
        Assert.Equal(ImageStatus.Uploading, staged.Status);
        Assert.Equal(data.Length, staged.Size);
        Assert.Null(staged.Checksum); // as Glance: hashes appear with the import
        Assert.Null(staged.OsHashValue);

        var requestId = $"req-{Guid.NewGuid()}";
        RequestContext.Set(GlanceRequestContext.RequestIdKey, requestId);
        try
        {
            await cluster.Image(id).ImportAsync(owner, ImportRequest.GlanceDirect());
        }
        finally
        {
            RequestContext.Clear();
        }

        var image = await WaitForAsync(cluster, owner, id, ImageStatus.Active);
        Assert.Equal(data.Length, image.Size);
        Assert.Equal(data.Length, image.VirtualSize);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(data)), image.Checksum);
        Assert.Equal("sha512", image.OsHashAlgo);
        Assert.Equal(Convert.ToHexStringLower(SHA512.HashData(data)), image.OsHashValue);
        Assert.Equal("", image.Properties["os_glance_importing_to_stores"]);
        Assert.Equal("", image.Properties["os_glance_failed_import"]);
        Assert.False(image.Properties.ContainsKey("os_glance_import_task"));

        var task = Assert.Single(await cluster.Image(id).ListTasksAsync(owner));
        Assert.Equal(ImageTaskStatus.Success, task.Status);
        Assert.Equal("api_image_import", task.Type);
        Assert.Equal(requestId, task.RequestId);
        Assert.Equal("user-1", task.UserId);
        Assert.Equal(owner.ProjectId, task.Owner);
        Assert.Equal(id, task.ImageId);
        Assert.Equal("", task.Message);
        Assert.NotNull(task.ExpiresAt);
        Assert.Equal(TimeSpan.FromHours(48), task.ExpiresAt.Value - task.UpdatedAt);
        using (var input = JsonDocument.Parse(task.InputJson))
        {
            Assert.Equal(id.ToString(), input.RootElement.GetProperty("image_id").GetString());
            Assert.Equal("glance-direct", input.RootElement.GetProperty("import_req").GetProperty("method").GetProperty("name").GetString());
            Assert.Equal("file", Assert.Single(input.RootElement.GetProperty("backend").EnumerateArray()).GetString());
        }
        using (var result = JsonDocument.Parse(task.ResultJson!))
        {
            Assert.Equal(id.ToString(), result.RootElement.GetProperty("image_id").GetString());
        }

        // The staged blob moved: one file, under the import's key, with the staged bytes.
        var file = Assert.Single(FilesOf(id));
        Assert.Equal($"{id:N}-{task.Id:N}", file);
        Assert.NotEqual(ticket.DataKey, file);
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(ImagesDirectory, file)));
        var opened = await cluster.Image(id).OpenDataAsync(owner);
        Assert.Equal(file, opened?.DataKey);

        // Tasks follow the image's visibility and the task's owner.
        await ThrowsGlance(ErrorKind.NotFound, () => cluster.Image(id).ListTasksAsync(Caller.Member(NewProject())));
        Assert.Single(await cluster.Image(id).ListTasksAsync(Caller.Admin(NewProject())));
    }

    [Fact]
    public async Task An_import_is_validated_before_anything_changes()
    {
        await using var cluster = await StartAsync();
        var owner = Caller.Member(NewProject());
        var id = (await CreateImportableAsync(cluster, owner)).Id;
        var image = cluster.Image(id);

        await ThrowsGlance(ErrorKind.BadRequest, () => image.ImportAsync(owner, new ImportRequest("{}")));
        await ThrowsGlance(ErrorKind.BadRequest, () => image.ImportAsync(owner, new ImportRequest("""{"method":{}}""")));
        await ThrowsGlance(ErrorKind.BadRequest, () => image.ImportAsync(owner, new ImportRequest("""{"method":{"name":"copy-image"}}""")));
        await ThrowsGlance(ErrorKind.BadRequest, () => image.ImportAsync(owner, new ImportRequest("""{"method":{"name":"glance-direct"},"all_stores":"yes"}""")));
        // Not staged yet.
        await ThrowsGlance(ErrorKind.Conflict, () => image.ImportAsync(owner, ImportRequest.GlanceDirect()));
        // Someone who cannot see it: not found; URI filtering comes after the ownership checks.
        await ThrowsGlance(ErrorKind.NotFound, () => image.ImportAsync(Caller.Member(NewProject()), ImportRequest.WebDownload("ftp://x/")));
        var refused = await ThrowsGlance(ErrorKind.BadRequest, () => image.ImportAsync(owner, ImportRequest.WebDownload("ftp://127.0.0.1/x")));
        Assert.Contains("does not pass filtering", refused.Message);
        // A port not in AllowedPorts, and a host not in AllowedHosts.
        await ThrowsGlance(ErrorKind.BadRequest, () => image.ImportAsync(owner, ImportRequest.WebDownload($"http://127.0.0.1:{_web.Port + 1}/x")));
        await ThrowsGlance(ErrorKind.BadRequest, () => image.ImportAsync(owner, ImportRequest.WebDownload($"http://127.0.0.2:{_web.Port}/x")));
        await ThrowsGlance(ErrorKind.Conflict, () => image.ImportAsync(owner, new ImportRequest(
            """{"method":{"name":"glance-direct"},"stores":["elsewhere"]}""")));

        var after = await image.GetAsync(owner);
        Assert.Equal(ImageStatus.Queued, after.Status);
        Assert.Empty(after.Properties);
        Assert.Empty(await image.ListTasksAsync(owner));
        Assert.Empty(_web.Requests);
    }

    [Fact]
    public async Task Web_download_streams_the_url_into_the_store()
    {
        await using var cluster = await StartAsync();
        var owner = Caller.Member(NewProject());
        var data = Payload(2_500_000, seed: 9);
        _web.Serve("/image.raw", data);
        _web.Redirect("/moved", "/image.raw");
        var id = (await CreateImportableAsync(cluster, owner)).Id;

        await cluster.Image(id).ImportAsync(owner, ImportRequest.WebDownload(_web.Url("/moved")));

        var image = await WaitForAsync(cluster, owner, id, ImageStatus.Active);
        Assert.Equal(data.Length, image.Size);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(data)), image.Checksum);
        Assert.Equal(Convert.ToHexStringLower(SHA512.HashData(data)), image.OsHashValue);
        Assert.Equal(["/moved", "/image.raw"], _web.Requests);
        var file = Assert.Single(FilesOf(id));
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(ImagesDirectory, file)));
        Assert.Equal(ImageTaskStatus.Success, Assert.Single(await cluster.Image(id).ListTasksAsync(owner)).Status);
    }

    [Fact]
    public async Task A_web_download_cut_short_by_a_crash_is_rolled_back_at_start_up_and_can_be_retried()
    {
        var owner = Caller.Member(NewProject());
        var data = Payload(1_000_000, seed: 11);
        var stall = _web.Stalling("/slow", data, head: 100_000);
        Guid id, taskId;
        await using (var first = await StartAsync())
        {
            id = (await first.CreateAsync(owner, ImageDraft.Empty.With("disk_format", "raw").With("container_format", "bare")
                .With("os_distro", "cirros"))).Id;
            await first.Image(id).ImportAsync(owner, ImportRequest.WebDownload(_web.Url("/slow")));
            await stall.HeadSent.WaitAsync(TimeSpan.FromSeconds(20));
            var importing = await first.Image(id).GetAsync(owner);
            Assert.Equal(ImageStatus.Importing, importing.Status);
            taskId = Guid.Parse(importing.Properties["os_glance_import_task"]);
            Assert.Equal("file", importing.Properties["os_glance_importing_to_stores"]);
            Assert.Equal(ImageTaskStatus.Processing, Assert.Single(await first.Image(id).ListTasksAsync(owner)).Status);
        }

        await using (var second = await StartAsync())
        {
            var image = await WaitForAsync(second, owner, id, ImageStatus.Queued);
            Assert.Null(image.Size);
            Assert.Equal("file", image.Properties["os_glance_failed_import"]);
            Assert.Equal("", image.Properties["os_glance_importing_to_stores"]);
            Assert.Equal("cirros", image.Properties["os_distro"]);
            Assert.False(image.Properties.ContainsKey("os_glance_import_task"));
            var task = Assert.Single(await second.Image(id).ListTasksAsync(owner));
            Assert.Equal(taskId, task.Id);
            Assert.Equal(ImageTaskStatus.Failure, task.Status);
            Assert.NotEqual("", task.Message);
            await UntilAsync(() => FilesOf(id).Length == 0, "the partial download is gone");

            // Recovery is idempotent, and a new import works.
            await second.Client.GetGrain<IImageMaintenanceGrain>(id).RecoverDataAsync();
            _web.Serve("/good", data);
            await second.Image(id).ImportAsync(owner, ImportRequest.WebDownload(_web.Url("/good")));
            var done = await WaitForAsync(second, owner, id, ImageStatus.Active);
            Assert.Equal(Convert.ToHexStringLower(MD5.HashData(data)), done.Checksum);
            Assert.Equal("", done.Properties["os_glance_failed_import"]);
            Assert.Equal(2, (await second.Image(id).ListTasksAsync(owner)).Length);
            Assert.Single(FilesOf(id));
        }
    }

    [Fact]
    public async Task Deleting_an_image_during_a_web_download_stops_it_and_leaves_no_bytes()
    {
        await using var cluster = await StartAsync();
        var owner = Caller.Member(NewProject());
        var stall = _web.Stalling("/slow", Payload(1_000_000, seed: 13), head: 200_000);
        var id = (await CreateImportableAsync(cluster, owner)).Id;
        await cluster.Image(id).ImportAsync(owner, ImportRequest.WebDownload(_web.Url("/slow")));
        await stall.HeadSent.WaitAsync(TimeSpan.FromSeconds(20));

        await cluster.Image(id).DeleteAsync(owner);

        // The download is abandoned (the connection closed), and nothing of the image stays on disk.
        await stall.ClientGone.WaitAsync(TimeSpan.FromSeconds(20));
        await UntilAsync(() => FilesOf(id).Length == 0, "the image's files are gone");
        await ThrowsGlance(ErrorKind.NotFound, () => cluster.Image(id).GetAsync(owner));
        await ThrowsGlance(ErrorKind.NotFound, () => cluster.Image(id).ListTasksAsync(owner));
    }
}
