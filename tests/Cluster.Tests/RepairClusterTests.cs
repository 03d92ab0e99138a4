using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Glance.Cluster.Tests.Support;

namespace Glance.Cluster.Tests;

/// <summary>A cluster of one silo and one API node: restarting the silo reloads every index shard from its table.</summary>
public sealed class RepairClusterFixture : IAsyncLifetime
{
    /// <summary>The cluster.</summary>
    public LocalCluster Cluster { get; } = new()
    {
        // Reminder passes every minute (Orleans' least period), reading what changed since the last
        // complete pass's start (no margin: Azurite and the silo share this machine's clock).
        // Image bytes no image holds are deleted by a full pass once they are half a minute old.
        Settings = "--Glance:Recovery:Interval=00:01:00 --Glance:Recovery:ClockMargin=00:00:00 --Glance:Recovery:UnheldDataAge=00:00:30",
    };

    public Task InitializeAsync() => Cluster.UpAsync(silos: 1, apis: 1);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>
/// The azure profile's once-per-cluster repair on real processes: an index table is put in the
/// state a crash leaves (the grain's write stored, its index write not), directly in Azurite, and
/// the grain's state blob is written again, as that write would be, after the last complete pass; the
/// silo restarts (its shards reload from the tables, and its start asks for a repair pass, which
/// goes on from the stored watermark); the listings are right again.
/// </summary>
public sealed class RepairClusterTests(RepairClusterFixture fixture) : IClassFixture<RepairClusterFixture>, IDisposable
{
    private static readonly TimeSpan RepairTime = TimeSpan.FromSeconds(90);

    private readonly LocalCluster _cluster = fixture.Cluster;
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(10) })
    {
        BaseAddress = fixture.Cluster.ApiNodes[1],
        Timeout = ImagesHttp.RequestTimeout,
    };

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Template_index_entries_behind_missing_or_live_after_delete_are_republished()
    {
        var table = Table("GlanceCatalogTemplates");
        var missing = await CreateTemplateAsync("repair-missing");
        var behind = await CreateTemplateAsync("repair-behind");
        var deleted = await CreateTemplateAsync("repair-deleted");

        // Missing: the entry never written.
        var entity = await EntityAsync(table, missing);
        await table.DeleteEntityAsync(entity.PartitionKey, entity.RowKey, ETag.All);
        // Behind: renamed, but the index keeps the entry from before.
        var before = await EntityAsync(table, behind);
        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Patch, $"/v2/templates/{behind}",
            new[] { new { op = "replace", path = "/name", value = "repair-renamed" } }, "application/json-patch+json"));
        await table.UpsertEntityAsync(before, TableUpdateMode.Replace);
        // Live after delete: deleted, but the index keeps the live entry.
        before = await EntityAsync(table, deleted);
        Assert.Equal(HttpStatusCode.NoContent, await SendAsync(HttpMethod.Delete, $"/v2/templates/{deleted}"));
        await table.UpsertEntityAsync(before, TableUpdateMode.Replace);
        foreach (var id in new[] { missing, behind, deleted })
        {
            await StateWrittenSinceTheLastPassAsync("template", id);
        }

        await RestartSiloAsync();

        await EventuallyAsync(async () =>
        {
            var names = await TemplateNamesAsync();
            return names is not null && names.TryGetValue(missing, out var m) && m == "repair-missing"
                && names.TryGetValue(behind, out var b) && b == "repair-renamed" && !names.ContainsKey(deleted);
        }, "the template list shows the missing template, the new name, and not the deleted template");
        Assert.False((await EntityAsync(table, deleted)).GetBoolean("Live"));
    }

    [Fact]
    public async Task A_task_index_entry_a_crash_left_out_is_written_again()
    {
        using var images = new ImagesHttp(_cluster.ApiNodes[1]);
        var (created, imageId, createBody) = await images.CreateAsync("repair-task");
        Assert.True(created == HttpStatusCode.Created, createBody);
        using (var stage = new ByteArrayContent(new byte[4096]))
        {
            stage.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var staged = await _http.PutAsync($"/v2/images/{imageId}/stage", stage);
            Assert.Equal(HttpStatusCode.NoContent, staged.StatusCode);
        }
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync(HttpMethod.Post, $"/v2/images/{imageId}/import", new { method = new { name = "glance-direct" } }));
        await EventuallyAsync(async () => (await images.GetAsync(imageId!.Value)).Image?["status"]?.GetValue<string>() == "active", "the import finishes");
        var (_, tasksBody) = await images.GetTextAsync($"/v2/images/{imageId}/tasks");
        var taskId = Guid.Parse(Assert.Single(JsonNode.Parse(tasksBody)!["tasks"]!.AsArray())!["id"]!.GetValue<string>());
        Assert.Contains(taskId, await TaskIdsAsync() ?? []);

        var table = Table("GlanceTasks");
        // Its last report written (success), so no late index write can put the entry back.
        await EventuallyAsync(async () => JsonNode.Parse((await images.GetTextAsync($"/v2/tasks/{taskId}")).Body)?["status"]?.GetValue<string>() == "success",
            "the task succeeds");
        var entity = await EntityAsync(table, taskId);
        await table.DeleteEntityAsync(entity.PartitionKey, entity.RowKey, ETag.All);
        await StateWrittenSinceTheLastPassAsync("task", taskId);

        await RestartSiloAsync();

        await EventuallyAsync(async () => await TaskIdsAsync() is { } listed && listed.Contains(taskId), "the task is listed again");
        Assert.True((await EntityAsync(table, taskId)).GetBoolean("Live"));
    }

    [Fact]
    public async Task An_entry_left_in_the_former_owners_shard_by_an_owner_change_is_removed()
    {
        using var images = new ImagesHttp(_cluster.ApiNodes[1]);
        var (created, id, createBody) = await images.CreateAsync("repair-owner");
        Assert.True(created == HttpStatusCode.Created, createBody);
        var owner = JsonNode.Parse(createBody)!["owner"]!.GetValue<string>();
        string? formerOwner = null;
        var table = Table("GlanceCatalog");

        // Move the image to an owner whose shard differs (shards are a hash of the owner), keeping the
        // former shard's live entity as it was before the move.
        TableEntity? former = null;
        for (var attempt = 0; attempt < 20 && former is null; attempt++)
        {
            var live = Assert.Single(await EntitiesAsync(table, id!.Value), e => e.GetBoolean("Live") == true);
            var next = $"repair-owner-{attempt}";
            Assert.Equal(HttpStatusCode.OK, await images.ReplaceAsync(id.Value, "owner", next));
            var moved = Assert.Single(await EntitiesAsync(table, id.Value), e => e.GetBoolean("Live") == true);
            if (moved.PartitionKey != live.PartitionKey)
            {
                (former, formerOwner) = (live, owner);
            }
            owner = next;
        }
        Assert.NotNull(former);
        await table.UpsertEntityAsync(former, TableUpdateMode.Replace);
        await StateWrittenSinceTheLastPassAsync("image", id!.Value);

        await RestartSiloAsync();

        await EventuallyAsync(async () => !((await EntitiesAsync(table, id!.Value)).Single(e => e.PartitionKey == former.PartitionKey).GetBoolean("Live") ?? false),
            "the former shard's entry is removed");
        await EventuallyAsync(async () =>
        {
            var (status, body) = await images.ListPageAsync($"owner={formerOwner}&limit=1000");
            return status == HttpStatusCode.OK && !body.Contains(id!.Value.ToString(), StringComparison.Ordinal);
        }, "the former owner's list no longer shows the image");
        Assert.Single(await images.ListAllAsync(), i => i == id!.Value);
    }

    [Fact]
    public async Task A_silos_start_reads_only_the_states_written_since_the_last_clean_pass()
    {
        using var images = new ImagesHttp(_cluster.ApiNodes[1]);
        var (created, _, body) = await images.CreateAsync("repair-unchanged");
        Assert.True(created == HttpStatusCode.Created, body);
        // The restarted silo's first pass reads the image above (whether it is full or not) and
        // stores its start as the watermark: afterwards the image is old news.
        await RestartSiloAsync();
        await EventuallyAsync(async () => await RepairCountAsync("glance_repair_passes_total", "") >= 1, "the restarted silo's pass ends");

        // Written after that pass: its catalog entity lost, as a crash between the two writes leaves it
        // (an image without properties has only its core entity).
        Guid? changed = null;
        await EventuallyAsync(async () =>
        {
            // The API node finds the restarted silo's gateway within its refresh period.
            (created, changed, body) = await images.CreateAsync("repair-changed");
            return created == HttpStatusCode.Created;
        }, "a create through the restarted silo");
        var catalog = Table("GlanceCatalog");
        var entity = await EntityAsync(catalog, changed!.Value);
        await catalog.DeleteEntityAsync(entity.PartitionKey, entity.RowKey, ETag.All);

        // A new activation of the repair grain, on the silo started again, goes on from the stored
        // watermark: it finds the new state by the tag its write carries, and reads no older one.
        await RestartSiloAsync();
        await EventuallyAsync(async () => await RepairCountAsync("glance_repair_passes_total", "") >= 1, "the next start's pass ends");
        // Taken at once: the reminder's next pass reads the repaired image again (it is unsettled).
        var read = await RepairCountAsync("glance_repair_states_total", "outcome=\"read\"");
        Assert.Equal(0, await RepairCountAsync("glance_repair_passes_total", "scope=\"full\""));
        await EventuallyAsync(async () => (await images.ListAllAsync()).Contains(changed.Value), "the image written since the last pass is listed again");
        var stored = (await images.ListAllAsync()).Count;
        Assert.True(read >= 1 && read < stored, $"the start's pass read {read} of {stored} image states: not only those written since the last complete pass");
    }

    [Fact]
    public async Task A_full_pass_deletes_old_bytes_no_image_holds_and_keeps_the_rest()
    {
        using var images = new ImagesHttp(_cluster.ApiNodes[1]);
        var (created, queued, body) = await images.CreateAsync("unheld-queued");
        Assert.True(created == HttpStatusCode.Created, body);
        (created, var active, body) = await images.CreateAsync("unheld-active");
        Assert.True(created == HttpStatusCode.Created, body);
        var bytes = new byte[64 << 10];
        Random.Shared.NextBytes(bytes);
        Assert.Equal(HttpStatusCode.NoContent, await images.UploadAsync(active!.Value, bytes));
        var data = new BlobServiceClient(_cluster.ConnectionString).GetBlobContainerClient("images");
        var activeKey = Assert.Single(await NamesAsync(data, active.Value));

        // What an upload that committed after its lease ran out, and whose completion never reached
        // the cluster, leaves: bytes under a key of the image that its state does not name (the
        // store's own marker included); and bytes of an image that has no state at all.
        var unheld = new[] { $"{queued:N}-{Guid.NewGuid():N}", $"{active:N}-{Guid.NewGuid():N}", $"{Guid.NewGuid():N}-{Guid.NewGuid():N}" };
        foreach (var name in unheld)
        {
            await WriteDataAsync(data, name);
        }
        var written = Stopwatch.StartNew();
        await _cluster.NodeAsync("stop", "silo", 1);
        // The next pass is a full one: no watermark says when the last one ran.
        var watermarks = new BlobServiceClient(_cluster.ConnectionString).GetBlobContainerClient("glance-grain-state");
        await foreach (var blob in watermarks.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, "repair-", CancellationToken.None))
        {
            await watermarks.DeleteBlobAsync(blob.Name);
        }
        var wait = TimeSpan.FromSeconds(31) - written.Elapsed;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
        // Younger than the age the pass waits for: it could be an upload's bytes whose completion is on its way.
        var young = $"{queued:N}-{Guid.NewGuid():N}";
        await WriteDataAsync(data, young);
        await _cluster.NodeAsync("start", "silo", 1);

        await EventuallyAsync(async () => await RepairCountAsync("glance_repair_passes_total", "scope=\"full\"") >= 1, "the restarted silo's full pass ends");
        foreach (var name in unheld)
        {
            Assert.False(await data.GetBlobClient(name).ExistsAsync(), $"{name}: held by no image, and old, yet still stored");
        }
        Assert.Equal(unheld.Length, await RepairCountAsync("glance_repair_states_total", "outcome=\"data-removed\""));
        Assert.True(await data.GetBlobClient(young).ExistsAsync(), "bytes younger than the age were deleted");
        Assert.True(await data.GetBlobClient(activeKey).ExistsAsync(), "the active image's own data was deleted");
        var (status, md5) = await images.DownloadMd5Async(active.Value);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(bytes)), md5);
        Assert.Equal("queued", (await images.GetAsync(queued!.Value)).Image?["status"]?.GetValue<string>());
        await data.DeleteBlobAsync(young);
    }

    private static async Task<List<string>> NamesAsync(BlobContainerClient container, Guid image)
    {
        var names = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, $"{image:N}-", CancellationToken.None))
        {
            names.Add(blob.Name);
        }
        return names;
    }

    private static Task WriteDataAsync(BlobContainerClient container, string name) =>
        container.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(new byte[4096]), new Azure.Storage.Blobs.Models.BlobUploadOptions
        {
            Metadata = new Dictionary<string, string> { ["glanceuploadid"] = Guid.NewGuid().ToString("N") },
        });

    /// <summary>
    /// Tags a grain's state blob as written now, as the silo's write of it would (StateWriteTags: the
    /// kind, then the UTC time to the second): a crash between a grain's state write and its index
    /// write leaves a state written after the last complete pass started, since that pass would have
    /// read and repaired an earlier one.
    /// </summary>
    private async Task StateWrittenSinceTheLastPassAsync(string state, Guid id)
    {
        var kind = $"{state}-glance.{state}";
        var blob = new BlobServiceClient(_cluster.ConnectionString).GetBlobContainerClient("glance-grain-state").GetBlobClient($"{kind}/{id:N}.json");
        await blob.SetTagsAsync(new Dictionary<string, string> { [kind] = DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture) });
    }

    /// <summary>A repair counter on the silo's <c>/metrics</c> (the one silo runs the repair grain), 0 until it appears.</summary>
    private async Task<double> RepairCountAsync(string name, string label)
    {
        try
        {
            return PrometheusText.Sum(await _http.GetStringAsync(_cluster.SiloMetrics[1]), name, label);
        }
        catch (HttpRequestException)
        {
            return 0; // The silo is restarting.
        }
    }

    /// <summary>The task ids GET /v2/tasks lists, or null while the cluster does not answer.</summary>
    private async Task<List<Guid>?> TaskIdsAsync()
    {
        try
        {
            using var response = await _http.GetAsync("/v2/tasks?limit=1000");
            return response.StatusCode != HttpStatusCode.OK ? null
                : [.. JsonNode.Parse(await response.Content.ReadAsStringAsync())!["tasks"]!.AsArray().Select(t => Guid.Parse(t!["id"]!.GetValue<string>()))];
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static async Task<List<TableEntity>> EntitiesAsync(TableClient table, Guid id)
    {
        var found = new List<TableEntity>();
        await foreach (var entity in table.QueryAsync<TableEntity>(e => e.RowKey == id.ToString("N")))
        {
            found.Add(entity);
        }
        return found;
    }

    private TableClient Table(string name) => new TableServiceClient(_cluster.ConnectionString).GetTableClient(name);

    /// <summary>The entity of an entry, whichever shard's partition holds it (the only one).</summary>
    private static async Task<TableEntity> EntityAsync(TableClient table, Guid id) => Assert.Single(await EntitiesAsync(table, id));

    private async Task RestartSiloAsync()
    {
        await _cluster.NodeAsync("stop", "silo", 1);
        await _cluster.NodeAsync("start", "silo", 1);
    }

    private async Task<Guid> CreateTemplateAsync(string name)
    {
        using var response = await _http.PostAsync("/v2/templates", Json(new
        {
            name,
            version = new
            {
                image = new { selector = new { tag = "repair" } },
                configuration = new { format = "cloud-config", template = "#cloud-config\nhostname: repair\n" },
            },
        }));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return Guid.Parse(JsonNode.Parse(body)!["id"]!.GetValue<string>());
    }

    /// <summary>Every listed template's name by id, or null while the cluster does not answer.</summary>
    private async Task<Dictionary<Guid, string>?> TemplateNamesAsync()
    {
        try
        {
            using var response = await _http.GetAsync("/v2/templates?limit=100");
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return null;
            }
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["templates"]!.AsArray()
                .ToDictionary(t => Guid.Parse(t!["id"]!.GetValue<string>()), t => t!["name"]!.GetValue<string>());
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private async Task<HttpStatusCode> SendAsync(HttpMethod method, string path, object? body = null, string mediaType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        }
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    private static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < RepairTime, $"not within {RepairTime.TotalSeconds} s: {what}");
            await Task.Delay(500);
        }
    }
}
