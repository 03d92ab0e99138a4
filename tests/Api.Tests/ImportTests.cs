using System.Text.Json;
using Glance.Api.Tests.Support;
using static Glance.Api.Tests.Support.ImageBytes;

namespace Glance.Api.Tests;

/// <summary>
/// Staging and glance-direct import through real HTTP (spec 1.4, 1.6, 6, tempest
/// ImportImagesTest), the import validation (400/403/404/409), and the discovery documents.
/// Web-download, which needs a server that allows the loopback test server, is in
/// <see cref="WebDownloadTests"/>.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ImportTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    private string[] Files(string id) => FilesOf(fixture.DataDirectory, id);

    private static string Message(ApiResponse error) => Expect.Str(error.Json, "message");

    [Fact]
    public async Task Stage_then_glance_direct_import_makes_the_image_active_with_a_task_carrying_the_request_id()
    {
        var data = Bytes(1_500_000, seed: 21);
        var id = await _api.CreateUploadableAsync(Persona.P1, new() { ["ramdisk_id"] = Guid.NewGuid().ToString(), ["visibility"] = "private" });

        var stage = await _api.StageAsync(id, Persona.P1, Octets(data));
        Expect.Status(stage, 204);
        Assert.Equal("", stage.Text);
        var staged = await _api.ShowImageAsync(id, Persona.P1);
        Assert.Equal("uploading", Expect.Str(staged, "status"));
        Assert.Equal(data.Length, staged.GetProperty("size").GetInt64());
        Assert.Equal(JsonValueKind.Null, staged.GetProperty("checksum").ValueKind); // as Glance: no hashes before the import
        Assert.Equal(204, (await _api.DownloadAsync(id, Persona.P1)).Code); // staged data is not the image's data

        var import = await _api.ImportAsync(id, Persona.P1, """{"method": {"name": "glance-direct"}}""");
        Expect.Status(import, 202);
        Assert.Equal("", import.Text);
        var requestId = Expect.RequestId(import);

        await _api.WaitForStatusAsync(id, Persona.P1, "active");
        var image = await _api.ShowImageAsync(id, Persona.P1);
        Assert.Equal(data.Length, image.GetProperty("size").GetInt64());
        Assert.Equal(data.Length, image.GetProperty("virtual_size").GetInt64());
        Assert.Equal(Md5(data), Expect.Str(image, "checksum"));
        Assert.Equal("sha512", Expect.Str(image, "os_hash_algo"));
        Assert.Equal(Sha512(data), Expect.Str(image, "os_hash_value"));
        Assert.Equal("", Expect.Str(image, "os_glance_importing_to_stores"));
        Assert.Equal("", Expect.Str(image, "os_glance_failed_import"));
        Assert.False(image.TryGetProperty("os_glance_import_task", out _));
        Assert.False(string.IsNullOrEmpty(Expect.Str(image, "ramdisk_id")));

        var download = await _api.DownloadAsync(id, Persona.P1);
        Assert.Equal(200, download.Code);
        Assert.Equal(data, download.Bytes);
        Assert.Single(Files(id)); // the staged blob is gone, the image's data is there

        var tasks = Expect.Status(await _api.GetAsync($"/v2/images/{id}/tasks", Persona.P1), 200).Json.GetProperty("tasks");
        var task = Assert.Single(tasks.EnumerateArray());
        Assert.Equal(requestId, Expect.Str(task, "request_id"));
        Assert.Equal("glance-direct", task.GetProperty("input").GetProperty("import_req").GetProperty("method").GetProperty("name").GetString());
        Assert.Equal(id, task.GetProperty("input").GetProperty("image_id").GetString());
        Assert.Equal("file", Assert.Single(task.GetProperty("input").GetProperty("backend").EnumerateArray()).GetString());
        Assert.Equal("api_image_import", Expect.Str(task, "type"));
        Assert.Equal("success", Expect.Str(task, "status"));
        Assert.Equal(id, Expect.Str(task, "image_id"));
        Assert.Equal(id, task.GetProperty("result").GetProperty("image_id").GetString());
        Assert.Equal("p1", Expect.Str(task, "owner"));
        Assert.Equal("user-p1", Expect.Str(task, "user_id"));
        Assert.Equal("", Expect.Str(task, "message"));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000$", Expect.Str(task, "created_at"));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000$", Expect.Str(task, "updated_at"));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000$", Expect.Str(task, "expires_at"));
        Assert.Matches("^[0-9a-f-]{36}$", Expect.Str(task, "id"));

        // Tasks of an image the caller cannot see: 404; a body on the GET: 400.
        Expect.Error(await _api.GetAsync($"/v2/images/{id}/tasks", Persona.P2), 404);
        Expect.Error(await _api.GetAsync($"/v2/images/{Guid.NewGuid()}/tasks", Persona.P1), 404);
        Expect.Error(await _api.SendAsync(HttpMethod.Get, $"/v2/images/{id}/tasks", Persona.P1, GlanceClient.Body("{}", "application/json")), 400);
    }

    [Fact]
    public async Task A_new_image_has_no_tasks()
    {
        var id = await _api.CreateUploadableAsync(Persona.P1);
        var tasks = Expect.Status(await _api.GetAsync($"/v2/images/{id}/tasks", Persona.P1), 200).Json;
        Assert.Equal("""{"tasks":[]}""", JsonSerializer.Serialize(tasks));
    }

    [Fact]
    public async Task Stage_is_for_queued_images_once_and_deleting_the_image_removes_the_staged_data()
    {
        var data = Bytes(300_000, seed: 22);
        var id = await _api.CreateUploadableAsync(Persona.P1);
        Expect.Status(await _api.StageAsync(id, Persona.P1, Octets(data)), 204);
        Assert.Single(Files(id));

        Expect.Error(await _api.StageAsync(id, Persona.P1, Octets(data)), 409); // already staged
        Expect.Error(await _api.UploadAsync(id, Persona.P1, Octets(data)), 409); // uploading, not queued
        Expect.Error(await _api.StageAsync(id, Persona.P1, Octets(data, "text/plain")), 415);

        Expect.Status(await _api.DeleteAsync($"/v2/images/{id}", Persona.P1), 204);
        Assert.Empty(Files(id));

        // An active image cannot be staged.
        var active = await _api.CreateUploadableAsync(Persona.P1);
        await _api.UploadOkAsync(active, Persona.P1, data);
        Expect.Error(await _api.StageAsync(active, Persona.P1, Octets(data)), 409);
    }

    [Fact]
    public async Task Import_requests_are_validated_as_Glance_does()
    {
        var queued = await _api.CreateUploadableAsync(Persona.P1);

        // The body: missing, no method, no name, unknown or disabled method, non-boolean flags (400).
        Expect.Error(await _api.SendAsync(HttpMethod.Post, $"/v2/images/{queued}/import", Persona.P1), 400);
        Expect.Error(await _api.ImportAsync(queued, Persona.P1, "not json"), 400);
        Assert.Contains("'method'", Message(Expect.Error(await _api.ImportAsync(queued, Persona.P1, "{}"), 400)));
        Assert.Contains("'name'", Message(Expect.Error(await _api.ImportAsync(queued, Persona.P1, """{"method":{}}"""), 400)));
        Assert.Contains("Unknown import method name 'teleport'",
            Message(Expect.Error(await _api.ImportAsync(queued, Persona.P1, """{"method":{"name":"teleport"}}"""), 400)));
        Expect.Error(await _api.ImportAsync(queued, Persona.P1, """{"method":{"name":"copy-image"}}"""), 400);
        Expect.Error(await _api.ImportAsync(queued, Persona.P1, """{"method":{"name":"glance-direct"},"all_stores_must_succeed":"no"}"""), 400);
        // The body is checked before the image: even an unknown image gets the 400.
        Expect.Error(await _api.ImportAsync(Guid.NewGuid().ToString(), Persona.P1, "{}"), 400);
        Expect.Error(await _api.ImportAsync(Guid.NewGuid().ToString(), Persona.P1, """{"method":{"name":"glance-direct"}}"""), 404);

        // glance-direct needs staged data (409), web-download a queued image.
        Assert.Contains("needs to be staged",
            Message(Expect.Error(await _api.ImportAsync(queued, Persona.P1, """{"method":{"name":"glance-direct"}}"""), 409)));
        var staged = await _api.CreateUploadableAsync(Persona.P1);
        Expect.Status(await _api.StageAsync(staged, Persona.P1, Octets(Bytes(1000))), 204);
        Assert.Contains("'queued' state",
            Message(Expect.Error(await _api.ImportAsync(staged, Persona.P1, """{"method":{"name":"web-download","uri":"http://example.com/x"}}"""), 409)));
        // An unknown store: 409.
        Expect.Error(await _api.ImportAsync(staged, Persona.P1, """{"method":{"name":"glance-direct"},"stores":["nowhere"]}"""), 409);

        // An active image is never an import target.
        var active = await _api.CreateUploadableAsync(Persona.P1);
        await _api.UploadOkAsync(active, Persona.P1, Bytes(1000));
        Assert.Contains("active", Message(Expect.Error(await _api.ImportAsync(active, Persona.P1, """{"method":{"name":"glance-direct"}}"""), 409)));

        // Formats must be set (409), staging does not need them.
        var bare = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { name = GlanceClient.Unique("noformat") }), "id");
        Expect.Status(await _api.StageAsync(bare, Persona.P1, Octets(Bytes(1000))), 204);
        Assert.Contains("container_format",
            Message(Expect.Error(await _api.ImportAsync(bare, Persona.P1, """{"method":{"name":"glance-direct"}}"""), 409)));

        // Not the owner: 403 for a member who sees the shared image, 404 for anyone else.
        Expect.Status(await _api.PostJsonAsync($"/v2/images/{staged}/members", Persona.P1, """{"member":"p2"}"""), 200);
        Expect.Error(await _api.ImportAsync(staged, Persona.P2, """{"method":{"name":"glance-direct"}}"""), 403);
        Expect.Error(await _api.ImportAsync(staged, new Persona("p3", "member", "user-p3"), """{"method":{"name":"glance-direct"}}"""), 404);

        // Nothing above started anything.
        Assert.Equal("uploading", await _api.StatusAsync(staged, Persona.P1));
        Assert.Equal("queued", await _api.StatusAsync(queued, Persona.P1));
        Assert.Equal(0, Expect.Status(await _api.GetAsync($"/v2/images/{staged}/tasks", Persona.P1), 200).Json.GetProperty("tasks").GetArrayLength());
    }

    [Fact]
    public async Task Web_download_URIs_that_do_not_pass_filtering_are_refused_and_never_fetched()
    {
        // The shared server allows ports 80 and 443 only, and no loopback address.
        await using var web = new LoopbackHttpServer();
        web.Serve("/x", Bytes(100));
        var id = await _api.CreateUploadableAsync(Persona.P1);
        // Scheme, host and port: refused when the import is requested.
        foreach (var uri in new[]
        {
            web.Url("/x"),                     // a port not allowed (and loopback)
            "ftp://example.com/x",
            "file:///etc/passwd",
            "not a uri",
        })
        {
            var response = await _api.ImportAsync(id, Persona.P1, JsonSerializer.Serialize(new { method = new { name = "web-download", uri } }));
            Assert.Contains("URI for web-download does not pass filtering", Message(Expect.Error(response, 400)));
        }
        Assert.Contains("does not pass filtering",
            Message(Expect.Error(await _api.ImportAsync(id, Persona.P1, """{"method":{"name":"web-download"}}"""), 400)));
        // Where the host leads: accepted (as Glance does), refused when connecting, so the task fails and
        // the image is queued again; an unresolvable name the same way (tempest expects 202 for it).
        foreach (var uri in new[]
        {
            "http://127.0.0.1/x",              // loopback
            "http://169.254.169.254/latest",   // link-local (cloud metadata)
            "http://[::1]/x",
            "http://0.0.0.0/x",
            "http://no-such-host.invalid/x",
        })
        {
            Expect.Status(await _api.ImportAsync(id, Persona.P1, JsonSerializer.Serialize(new { method = new { name = "web-download", uri } })), 202);
            await WaitForImportToEndAsync(id);
            var failed = await _api.ShowImageAsync(id, Persona.P1);
            Assert.Equal("queued", Expect.Str(failed, "status"));
            Assert.Equal("file", Expect.Str(failed, "os_glance_failed_import"));
        }
        Assert.Empty(web.Requests);
    }

    /// <summary>Waits until the image is no longer importing (the task ended; a name lookup may take its time).</summary>
    private async Task WaitForImportToEndAsync(string id)
    {
        for (var i = 0; i < 600; i++)
        {
            if (Expect.Str(await _api.ShowImageAsync(id, Persona.P1), "status") != "importing")
            {
                return;
            }
            await Task.Delay(50);
        }
        Assert.Fail($"image {id} is still importing");
    }

    [Fact]
    public async Task Discovery_lists_the_import_methods_says_single_store_and_create_announces_the_methods()
    {
        var import = Expect.Status(await _api.GetAsync("/v2/info/import", Persona.P1), 200);
        Assert.Equal(
            """{"import-methods":{"description":"Import methods available.","type":"array","value":["glance-direct","web-download"]}}""",
            JsonSerializer.Serialize(import.Json));
        // One store, as a Glance without enabled_backends (multi-store discovery answers 404, and
        // Tempest and glanceclient then treat the service as single-store, as they do Glance).
        var stores = Expect.Error(await _api.GetAsync("/v2/info/stores", Persona.P1), 404);
        Assert.Equal("Multi backend is not supported at this site.", stores.Json.GetProperty("message").GetString());
        Expect.Error(await _api.SendAsync(HttpMethod.Get, "/v2/info/import", Persona.P1, GlanceClient.Body("{}", "application/json")), 400);

        var created = await _api.PostJsonAsync("/v2/images", Persona.P1, "{}");
        Expect.Status(created, 201);
        Assert.Equal("glance-direct,web-download", created.Header("OpenStack-image-import-methods"));
    }
}

/// <summary>
/// web-download through real HTTP against a server configured (as tests must) to allow the
/// loopback test server: its port in <c>Glance:Import:AllowedPorts</c> and 127.0.0.1 in
/// <c>AllowedHosts</c>, with a 4 MiB size cap.
/// </summary>
public sealed class WebDownloadTests : IAsyncLifetime
{
    private const long SizeCap = 4 << 20;
    private readonly LoopbackHttpServer _web = new();
    private readonly LoopbackHttpServer _forbidden = new();
    private GlanceServer? _server;

    private GlanceClient Api => _server!.Client;

    public Task InitializeAsync()
    {
        _server = new GlanceServer(_ => new Dictionary<string, string?>
        {
            ["Glance:Import:AllowedPorts:0"] = _web.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Glance:Import:AllowedHosts:0"] = "127.0.0.1",
            ["Glance:ImageData:ImageSizeCap"] = SizeCap.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        await _web.DisposeAsync();
        await _forbidden.DisposeAsync();
    }

    private string[] Files(string id) => FilesOf(_server!.DataDirectory, id);

    private static string WebDownload(string uri) => JsonSerializer.Serialize(new { method = new { name = "web-download", uri } });

    private async Task<JsonElement> TaskOfAsync(string id) =>
        Assert.Single(Expect.Status(await Api.GetAsync($"/v2/images/{id}/tasks", Persona.P1), 200).Json.GetProperty("tasks").EnumerateArray());

    [Fact]
    public async Task Web_download_reads_the_virtual_size_from_the_header_as_it_downloads()
    {
        using var directory = new TempDirectory();
        // vmdk: a 1 GiB disk is a small file (the size cap here is 4 MiB).
        var path = DiskImages.Create(directory.Path, "vmdk", "1G");
        _web.Serve("/disk.vmdk", File.ReadAllBytes(path));
        var id = await Api.CreateUploadableAsync(Persona.P1, new() { ["disk_format"] = "vmdk" });

        Expect.Status(await Api.ImportAsync(id, Persona.P1, WebDownload(_web.Url("/disk.vmdk"))), 202);
        await Api.WaitForStatusAsync(id, Persona.P1, "active");

        var image = await Api.ShowImageAsync(id, Persona.P1);
        Assert.Equal(DiskImages.VirtualSize(path, "vmdk"), image.GetProperty("virtual_size").GetInt64());
    }

    [Fact]
    public async Task Web_download_makes_the_image_active_with_the_downloaded_bytes()
    {
        var data = Bytes(3_000_000, seed: 31);
        _web.Serve("/cirros.raw", data);
        var id = await Api.CreateUploadableAsync(Persona.P1);

        var import = await Api.ImportAsync(id, Persona.P1, WebDownload(_web.Url("/cirros.raw")));
        Expect.Status(import, 202);
        await Api.WaitForStatusAsync(id, Persona.P1, "active");

        var image = await Api.ShowImageAsync(id, Persona.P1);
        Assert.Equal(Md5(data), Expect.Str(image, "checksum"));
        Assert.Equal(Sha512(data), Expect.Str(image, "os_hash_value"));
        Assert.Equal(data.Length, image.GetProperty("size").GetInt64());
        Assert.Equal("", Expect.Str(image, "os_glance_failed_import"));
        Assert.Equal(data, (await Api.DownloadAsync(id, Persona.P1)).Bytes);
        var task = await TaskOfAsync(id);
        Assert.Equal("success", Expect.Str(task, "status"));
        Assert.Equal(Expect.RequestId(import), Expect.Str(task, "request_id"));
        Assert.Equal(_web.Url("/cirros.raw"), task.GetProperty("input").GetProperty("import_req").GetProperty("method").GetProperty("uri").GetString());
        Assert.Equal(["/cirros.raw"], _web.Requests);
    }

    [Fact]
    public async Task A_failed_web_download_puts_the_image_back_to_queued_with_the_failed_store_and_a_retry_works()
    {
        var id = await Api.CreateUploadableAsync(Persona.P1, new() { ["os_distro"] = "cirros" });
        Expect.Status(await Api.ImportAsync(id, Persona.P1, WebDownload(_web.Url("/missing"))), 202);

        Assert.True(await EventuallyAsync(async () => (await TaskOfAsync(id)).GetProperty("status").GetString() == "failure"), "the task never failed");
        var image = await Api.ShowImageAsync(id, Persona.P1);
        Assert.Equal("queued", Expect.Str(image, "status"));
        Assert.Equal(JsonValueKind.Null, image.GetProperty("size").ValueKind);
        Assert.Equal("file", Expect.Str(image, "os_glance_failed_import"));
        Assert.Equal("", Expect.Str(image, "os_glance_importing_to_stores"));
        Assert.Equal("cirros", Expect.Str(image, "os_distro"));
        Assert.False(image.TryGetProperty("os_glance_import_task", out _));
        Assert.Contains("404", Expect.Str(await TaskOfAsync(id), "message"));
        Assert.Empty(Files(id));

        var data = Bytes(10_000, seed: 32);
        _web.Serve("/retry", data);
        Expect.Status(await Api.ImportAsync(id, Persona.P1, WebDownload(_web.Url("/retry"))), 202);
        await Api.WaitForStatusAsync(id, Persona.P1, "active");
        var done = await Api.ShowImageAsync(id, Persona.P1);
        Assert.Equal(Md5(data), Expect.Str(done, "checksum"));
        Assert.Equal("", Expect.Str(done, "os_glance_failed_import"));
    }

    [Fact]
    public async Task A_download_over_the_size_cap_fails_whether_or_not_the_server_announces_its_length()
    {
        var big = Bytes((int)SizeCap + 1, seed: 33);
        _web.Serve("/announced", big);
        _web.Serve("/unannounced", big, withLength: false);
        foreach (var path in new[] { "/announced", "/unannounced" })
        {
            var id = await Api.CreateUploadableAsync(Persona.P1);
            Expect.Status(await Api.ImportAsync(id, Persona.P1, WebDownload(_web.Url(path))), 202);
            Assert.True(await EventuallyAsync(async () => (await TaskOfAsync(id)).GetProperty("status").GetString() == "failure"), $"{path}: the task never failed");
            Assert.Equal("queued", await Api.StatusAsync(id, Persona.P1));
            Assert.Contains("exceeds", Expect.Str(await TaskOfAsync(id), "message"));
            Assert.Empty(Files(id));
        }
    }

    [Fact]
    public async Task A_redirect_to_a_URI_that_does_not_pass_filtering_is_not_followed()
    {
        _forbidden.Serve("/secret", Bytes(100));
        _web.Redirect("/bounce", _forbidden.Url("/secret"));
        var id = await Api.CreateUploadableAsync(Persona.P1);
        Expect.Status(await Api.ImportAsync(id, Persona.P1, WebDownload(_web.Url("/bounce"))), 202);

        Assert.True(await EventuallyAsync(async () => (await TaskOfAsync(id)).GetProperty("status").GetString() == "failure"), "the task never failed");
        Assert.Contains("does not pass filtering", Expect.Str(await TaskOfAsync(id), "message"));
        Assert.Equal("file", Expect.Str(await Api.ShowImageAsync(id, Persona.P1), "os_glance_failed_import"));
        Assert.Empty(_forbidden.Requests);
        // And a direct import from it is a synchronous 400.
        Expect.Error(await Api.ImportAsync(id, Persona.P1, WebDownload(_forbidden.Url("/secret"))), 400);
        Assert.Empty(_forbidden.Requests);
    }

    [Fact]
    public async Task While_an_import_runs_the_image_is_importing_and_locked_and_a_delete_stops_it()
    {
        var stall = _web.Stalling("/slow", Bytes(2_000_000, seed: 34), head: 300_000);
        var id = await Api.CreateUploadableAsync(Persona.P1);
        Expect.Status(await Api.ImportAsync(id, Persona.P1, WebDownload(_web.Url("/slow"))), 202);
        await stall.HeadSent.WaitAsync(TimeSpan.FromSeconds(20));

        var image = await Api.ShowImageAsync(id, Persona.P1);
        Assert.Equal("importing", Expect.Str(image, "status"));
        var taskId = Expect.Str(image, "os_glance_import_task");
        Assert.Equal("file", Expect.Str(image, "os_glance_importing_to_stores"));
        var task = await TaskOfAsync(id);
        Assert.Equal(taskId, Expect.Str(task, "id"));
        Assert.Equal("processing", Expect.Str(task, "status"));
        Assert.Equal(JsonValueKind.Null, task.GetProperty("expires_at").ValueKind);

        // A second import, an upload and a stage are conflicts; metadata changes are allowed.
        Expect.Error(await Api.ImportAsync(id, Persona.P1, WebDownload(_web.Url("/slow"))), 409);
        Expect.Error(await Api.UploadAsync(id, Persona.P1, Octets(Bytes(10))), 409);
        Expect.Error(await Api.StageAsync(id, Persona.P1, Octets(Bytes(10))), 409);
        Expect.Status(await Api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"add","path":"/os_version","value":"1"}]"""), 200);
        // The lock property is the service's own.
        Expect.Error(await Api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"remove","path":"/os_glance_import_task"}]"""), 403);

        Expect.Status(await Api.DeleteAsync($"/v2/images/{id}", Persona.P1), 204);
        await stall.ClientGone.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(await EventuallyAsync(() => Task.FromResult(Files(id).Length == 0)), "the partial download stayed on disk");
        Expect.Error(await Api.GetAsync($"/v2/images/{id}", Persona.P1), 404);
    }
}

/// <summary>Import and stage requests.</summary>
public static class ImportRequests
{
    /// <summary>PUT /v2/images/{id}/stage.</summary>
    public static Task<ApiResponse> StageAsync(this GlanceClient api, string id, Persona? caller, HttpContent content) =>
        api.SendAsync(HttpMethod.Put, $"/v2/images/{id}/stage", caller, content);

    /// <summary>POST /v2/images/{id}/import with a JSON body.</summary>
    public static Task<ApiResponse> ImportAsync(this GlanceClient api, string id, Persona? caller, string json) =>
        api.PostJsonAsync($"/v2/images/{id}/import", caller, json);
}
