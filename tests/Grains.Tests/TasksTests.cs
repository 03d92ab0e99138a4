using System.Security.Cryptography;
using System.Text.Json;
using Glance.Grains.Catalog;
using Glance.Grains.Errors;
using Glance.Grains.Identity;
using Glance.Grains.Images;
using Glance.Grains.Storage;
using Glance.Grains.Tasks;
using Microsoft.Data.Sqlite;
using static Glance.Grains.Tests.Support;

namespace Glance.Grains.Tests;

/// <summary>
/// The tasks API's grains called directly: the same rules as over HTTP (the tasks_api_access
/// policy, another project's task not found), an image's import task found by its id, and the
/// task's home kept right across a crash: a report or index update the crash lost is caught up
/// at start-up, and a task its image never recorded is ended. Each test runs its own cluster.
/// </summary>
public sealed class TasksTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private readonly LoopbackHttpServer _web = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _web.DisposeAsync();
        _directory.Dispose();
    }

    /// <summary>A cluster letting web-download reach the loopback server; <paramref name="anyCaller"/> opens the tasks API to every caller.</summary>
    private Task<GlanceTestCluster> StartAsync(bool anyCaller = false)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Glance:Import:AllowedPorts:0"] = _web.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Glance:Import:AllowedHosts:0"] = "127.0.0.1",
        };
        if (anyCaller)
        {
            settings["Glance:Tasks:AccessRoles:0"] = TaskOptions.AnyCaller;
        }
        return GlanceTestCluster.StartAsync(_directory.Path, settings: settings);
    }

    private static ITaskGrain TaskOf(GlanceTestCluster cluster, Guid id) => cluster.Client.GetGrain<ITaskGrain>(id);

    private static Task<TaskPage> ListAsync(GlanceTestCluster cluster, Caller caller, params (string Name, string Value)[] query) =>
        cluster.Client.GetGrain<ITaskCatalogGrain>(0).ListAsync(caller, [.. query.Select(q => new QueryParameter(q.Name, q.Value))]);

    /// <summary>A web-download of a small payload into a new image of <paramref name="owner"/>; returns the image and its task.</summary>
    private async Task<(Guid Image, Guid Task)> ImportAsync(GlanceTestCluster cluster, Caller owner)
    {
        var path = $"/{Guid.NewGuid():N}.raw";
        _web.Serve(path, [.. Enumerable.Range(0, 10_000).Select(i => (byte)i)]);
        var id = (await cluster.CreateAsync(owner, ImageDraft.Empty.With("disk_format", "raw").With("container_format", "bare"))).Id;
        await cluster.Image(id).ImportAsync(owner, ImportRequest.WebDownload(_web.Url(path)));
        var task = Assert.Single(await cluster.Image(id).ListTasksAsync(owner));
        return (id, task.Id);
    }

    private static async Task<ImageTask> EventuallyAsync(Func<Task<ImageTask>> read, Func<ImageTask, bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var task = await read();
            if (done(task))
            {
                return task;
            }
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what} (last: {task.Status} '{task.Message}')");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task An_image_import_task_is_found_by_id_and_listed_for_admins_only_by_default()
    {
        await using var cluster = await StartAsync();
        var owner = new Caller(NewProject(), "user-1", ["member"]);
        var admin = Caller.Admin(NewProject());
        var (image, taskId) = await ImportAsync(cluster, owner);

        var task = await EventuallyAsync(() => TaskOf(cluster, taskId).GetAsync(admin), t => t.Status == ImageTaskStatus.Success, "the task succeeds");
        var imageTask = Assert.Single(await cluster.Image(image).ListTasksAsync(owner));
        Assert.Equal(JsonSerializer.Serialize(imageTask), JsonSerializer.Serialize(task));
        Assert.Equal(image, task.ImageId);
        Assert.Equal(owner.ProjectId, task.Owner);
        Assert.Equal("api_image_import", task.Type);
        var listed = await ListAsync(cluster, admin, ("owner", owner.ProjectId!));
        Assert.Equal(taskId, Assert.Single(listed.Tasks).Id);
        Assert.Equal("null", listed.Tasks[0].InputJson); // lists leave input, result and message out

        // Zed's tasks_api_access is role:admin: the image's owner itself is refused, whatever the task.
        var refused = await ThrowsGlance(ErrorKind.Forbidden, () => TaskOf(cluster, taskId).GetAsync(owner));
        Assert.Equal("You are not authorized to complete tasks_api_access action.", refused.Message);
        await ThrowsGlance(ErrorKind.Forbidden, () => ListAsync(cluster, owner));
        await ThrowsGlance(ErrorKind.Forbidden, () => TaskOf(cluster, Guid.NewGuid()).CreateAsync(owner, new CreateTaskRequest("{}")));
        await ThrowsGlance(ErrorKind.NotFound, () => TaskOf(cluster, Guid.NewGuid()).GetAsync(admin));
    }

    [Fact]
    public async Task With_the_policy_opened_a_caller_sees_its_projects_tasks_and_another_projects_task_is_not_found()
    {
        await using var cluster = await StartAsync(anyCaller: true);
        var owner = Caller.Member(NewProject());
        var other = Caller.Member(NewProject());
        var (_, taskId) = await ImportAsync(cluster, owner);

        await EventuallyAsync(() => TaskOf(cluster, taskId).GetAsync(owner), t => t.Status == ImageTaskStatus.Success, "the task succeeds");
        var missing = await ThrowsGlance(ErrorKind.NotFound, () => TaskOf(cluster, taskId).GetAsync(other));
        Assert.Equal($"Could not find task {taskId}", missing.Message);
        Assert.Equal(taskId, Assert.Single((await ListAsync(cluster, owner)).Tasks).Id);
        Assert.Empty((await ListAsync(cluster, other)).Tasks);
        // Its id as a marker is no more known to the other project than the task itself.
        await ThrowsGlance(ErrorKind.BadRequest, () => ListAsync(cluster, other, ("marker", taskId.ToString())));
        Assert.Empty((await ListAsync(cluster, owner, ("marker", taskId.ToString()))).Tasks);
    }

    [Fact]
    public async Task A_legacy_import_task_creates_the_image_downloads_into_it_and_a_failed_one_leaves_no_image()
    {
        await using var cluster = await StartAsync();
        var admin = new Caller(NewProject(), "admin-user", ["admin"]);
        var data = Enumerable.Range(0, 50_000).Select(i => (byte)(i * 7)).ToArray();
        _web.Serve("/legacy.raw", data);
        var body = JsonSerializer.Serialize(new
        {
            type = "import",
            input = new { import_from = _web.Url("/legacy.raw"), import_from_format = "raw", image_properties = new { name = "legacy", disk_format = "raw", container_format = "bare", os_distro = "talos" } },
        });
        var id = Guid.NewGuid();
        var created = await TaskOf(cluster, id).CreateAsync(admin, new CreateTaskRequest(body));
        Assert.Equal(ImageTaskStatus.Pending, created.Status);
        Assert.Null(created.ImageId); // Glance: a legacy import's task names its image only in its result

        var done = await EventuallyAsync(() => TaskOf(cluster, id).GetAsync(admin), t => t.Status != ImageTaskStatus.Pending && t.Status != ImageTaskStatus.Processing, "the task ends");
        Assert.Equal(ImageTaskStatus.Success, done.Status);
        Assert.Null(done.ImageId);
        Assert.NotNull(done.ExpiresAt);
        var imageId = Guid.Parse(JsonDocument.Parse(done.ResultJson!).RootElement.GetProperty("image_id").GetString()!);
        var image = await cluster.Image(imageId).GetAsync(admin);
        Assert.Equal(ImageStatus.Active, image.Status);
        Assert.Equal(admin.ProjectId, image.Owner);
        Assert.Equal("legacy", image.Name);
        Assert.Equal("talos", image.Properties["os_distro"]);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(data)), image.Checksum);
        Assert.Empty(await cluster.Image(imageId).ListTasksAsync(admin)); // not the image's task in Glance

        // A download that fails: the task fails and its image is deleted (Glance's revert).
        var failing = Guid.NewGuid();
        await TaskOf(cluster, failing).CreateAsync(admin, new CreateTaskRequest(body.Replace("/legacy.raw", "/missing")));
        var failed = await EventuallyAsync(() => TaskOf(cluster, failing).GetAsync(admin), t => t.Status == ImageTaskStatus.Failure, "the task fails");
        Assert.Contains("404", failed.Message);
        Assert.Null(failed.ResultJson);
        var images = await cluster.Catalog.ListAsync(admin, new ImageQuery { Limit = 100 }.WithProperty("os_distro", "talos"));
        Assert.Equal(imageId, Assert.Single(images).Id);
    }

    [Fact]
    public async Task Reports_and_index_updates_a_crash_lost_are_caught_up_at_start_up()
    {
        var owner = Caller.Member(NewProject());
        var admin = Caller.Admin(NewProject());
        Guid taskId, orphanId, image;
        await using (var first = await StartAsync())
        {
            (image, taskId) = await ImportAsync(first, owner);
            await EventuallyAsync(() => TaskOf(first, taskId).GetAsync(admin), t => t.Status == ImageTaskStatus.Success, "the task succeeds");
            // A task written ahead for an import its image never recorded (the crash came in between).
            orphanId = Guid.NewGuid();
            var now = DateTimeOffset.UtcNow;
            await first.Client.GetGrain<ITaskRecorder>(orphanId).RecordAsync(new ImageTask
            {
                Id = orphanId, Type = "api_image_import", Status = ImageTaskStatus.Pending, InputJson = "{}",
                Owner = owner.ProjectId, CreatedAt = now, UpdatedAt = now, ImageId = image,
            });
        }

        // As if the process had died after the image's last write: the task grain never heard of the
        // success, and its index entry was never written.
        using (var connection = new SqliteConnection($"Data Source={GlanceTestCluster.DatabaseIn(_directory.Path)};Pooling=false"))
        {
            connection.Open();
            using var update = connection.CreateCommand();
            update.CommandText = """
                UPDATE grain_state SET payload = json_set(payload, '$.task.status', 'Processing', '$.task.resultJson', NULL, '$.task.expiresAt', NULL)
                WHERE grain_type = 'glance.task' AND grain_key = $key;
                DELETE FROM task_entry WHERE task_id = $key;
                """;
            update.Parameters.AddWithValue("$key", taskId.ToString("N"));
            update.ExecuteNonQuery();
        }

        await using var second = await StartAsync();
        // Start-up recovery alone (no read of the task grains) brings the list back in line.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        TaskPage page;
        while (true)
        {
            page = await ListAsync(second, admin, ("owner", owner.ProjectId!), ("sort_key", "status"), ("sort_dir", "asc"));
            if ((page.Tasks.Length == 2 && page.Tasks.All(t => t.Status is ImageTaskStatus.Success or ImageTaskStatus.Failure)) || DateTime.UtcNow > deadline)
            {
                break;
            }
            await Task.Delay(50);
        }
        Assert.Equal([orphanId, taskId], page.Tasks.Select(t => t.Id));
        Assert.Equal([ImageTaskStatus.Failure, ImageTaskStatus.Success], page.Tasks.Select(t => t.Status));
        var task = await TaskOf(second, taskId).GetAsync(admin);
        Assert.Equal(image.ToString(), JsonDocument.Parse(task.ResultJson!).RootElement.GetProperty("image_id").GetString());
        Assert.NotNull(task.ExpiresAt);
        Assert.Contains("interrupted", (await TaskOf(second, orphanId).GetAsync(admin)).Message);
    }

    [Fact]
    public async Task Tasks_an_image_recorded_before_task_grains_existed_get_one_at_start_up()
    {
        var owner = Caller.Member(NewProject());
        var admin = Caller.Admin(NewProject());
        Guid taskId;
        await using (var first = await StartAsync())
        {
            (_, taskId) = await ImportAsync(first, owner);
            await EventuallyAsync(() => TaskOf(first, taskId).GetAsync(admin), t => t.Status == ImageTaskStatus.Success, "the task succeeds");
        }
        // The data of a service that kept tasks only in its images' state.
        using (var connection = new SqliteConnection($"Data Source={GlanceTestCluster.DatabaseIn(_directory.Path)};Pooling=false"))
        {
            connection.Open();
            using var delete = connection.CreateCommand();
            delete.CommandText = "DELETE FROM grain_state WHERE grain_type = 'glance.task'; DELETE FROM task_entry;";
            Assert.Equal(2, delete.ExecuteNonQuery());
        }

        await using var second = await StartAsync();
        var task = await EventuallyAsync(async () =>
            (await ListAsync(second, admin, ("owner", owner.ProjectId!))).Tasks.FirstOrDefault() ?? new ImageTask
            {
                Id = Guid.Empty, Type = "", Status = ImageTaskStatus.Pending, InputJson = "null", CreatedAt = default, UpdatedAt = default,
            }, t => t.Id == taskId, "the task is listed again");
        Assert.Equal(ImageTaskStatus.Success, task.Status);
        Assert.Equal(ImageTaskStatus.Success, (await TaskOf(second, taskId).GetAsync(admin)).Status);
    }
}
