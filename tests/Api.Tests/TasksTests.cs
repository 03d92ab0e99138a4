using System.Text.Json;
using Glance.Api.Tests.Support;
using static Glance.Api.Tests.Support.ImageBytes;

namespace Glance.Api.Tests;

/// <summary>
/// The tasks API over real HTTP, as Glance Zed answers it (spec 1.6; compared with the real
/// Glance 25.1): legacy import tasks (create, run, fail), an image's import task found by id,
/// the list's filters, sort, paging and links, and the 4xx answers. The server lets web-download
/// reach a loopback server, and opens the tasks API to the role "tasks" besides admin so that
/// project visibility can be tested; the default policy (admin only) is <see cref="TasksPolicyTests"/>.
/// </summary>
public sealed class TasksTests : IAsyncLifetime
{
    private readonly LoopbackHttpServer _web = new();
    private GlanceServer? _server;

    private GlanceClient Api => _server!.Client;

    /// <summary>A caller passing the tasks policy through the role "tasks", in a project of its own.</summary>
    private static Persona Tasker(string project) => new(project, "member,tasks", "user-" + project);

    public Task InitializeAsync()
    {
        _server = new GlanceServer(_ => new Dictionary<string, string?>
        {
            ["Glance:Import:AllowedPorts:0"] = _web.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Glance:Import:AllowedHosts:0"] = "127.0.0.1",
            ["Glance:Tasks:AccessRoles:0"] = "admin",
            ["Glance:Tasks:AccessRoles:1"] = "tasks",
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
    }

    private static string Message(ApiResponse error) => Expect.Str(error.Json, "message");

    private static string LegacyBody(string uri, object? properties = null) => JsonSerializer.Serialize(new
    {
        type = "import",
        input = new { import_from = uri, import_from_format = "raw", image_properties = properties ?? new { disk_format = "raw", container_format = "bare" } },
    });

    private Task<ApiResponse> CreateAsync(Persona caller, string body) => Api.PostJsonAsync("/v2/tasks", caller, body);

    private async Task<JsonElement> ShowAsync(string id, Persona caller) =>
        Expect.Status(await Api.GetAsync($"/v2/tasks/{id}", caller), 200).Json;

    /// <summary>Polls the task until it is finished; returns it.</summary>
    private async Task<JsonElement> FinishedAsync(string id, Persona caller)
    {
        var task = default(JsonElement);
        Assert.True(await EventuallyAsync(async () => (task = await ShowAsync(id, caller)).GetProperty("status").GetString() is "success" or "failure"),
            $"task {id} never finished: {task}");
        return task;
    }

    private static string[] Keys(JsonElement json) => [.. json.EnumerateObject().Select(p => p.Name)];

    [Fact]
    public async Task A_legacy_import_task_creates_an_image_from_the_url_and_shows_as_Glance_shows_it()
    {
        var data = Bytes(1_200_000, seed: 41);
        _web.Serve("/legacy.raw", data);
        var name = GlanceClient.Unique("legacy");
        var caller = Tasker(GlanceClient.Unique("tp"));

        var created = Expect.Status(await CreateAsync(caller, LegacyBody(_web.Url("/legacy.raw"), new { name, disk_format = "raw", container_format = "bare", os_distro = "talos" })), 201);
        var task = created.Json;
        var id = Expect.Str(task, "id");
        Assert.Equal(new Uri(_server!.Factory.BaseAddress, $"/v2/tasks/{id}").ToString(), created.Header("Location"));
        // Glance's _format_task, key for key, in its order; image_id and expires_at are not set yet.
        Assert.Equal(["id", "input", "type", "status", "owner", "message", "result", "created_at", "updated_at", "self", "schema", "request_id", "user_id"], Keys(task));
        Assert.Equal("import", Expect.Str(task, "type"));
        Assert.Equal("pending", Expect.Str(task, "status"));
        Assert.Equal(caller.Project, Expect.Str(task, "owner"));
        Assert.Equal(caller.User, Expect.Str(task, "user_id"));
        Assert.Equal(Expect.RequestId(created), Expect.Str(task, "request_id"));
        Assert.Equal(JsonValueKind.Null, task.GetProperty("result").ValueKind);
        Assert.Equal(_web.Url("/legacy.raw"), task.GetProperty("input").GetProperty("import_from").GetString());
        Assert.Equal($"/v2/tasks/{id}", Expect.Str(task, "self"));
        Assert.Equal("/v2/schemas/task", Expect.Str(task, "schema"));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", Expect.Str(task, "created_at"));

        var done = await FinishedAsync(id, caller);
        Assert.Equal("success", Expect.Str(done, "status"));
        Assert.Equal(["id", "input", "type", "status", "owner", "message", "result", "created_at", "updated_at", "self", "schema", "request_id", "user_id", "expires_at"], Keys(done));
        Assert.Equal("", Expect.Str(done, "message"));
        var expires = DateTimeOffset.Parse(Expect.Str(done, "expires_at"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromHours(48), expires - DateTimeOffset.Parse(Expect.Str(done, "updated_at"), System.Globalization.CultureInfo.InvariantCulture));
        var imageId = done.GetProperty("result").GetProperty("image_id").GetString()!;

        var image = await Api.ShowImageAsync(imageId, caller);
        Assert.Equal("active", Expect.Str(image, "status"));
        Assert.Equal(name, Expect.Str(image, "name"));
        Assert.Equal("talos", Expect.Str(image, "os_distro"));
        Assert.Equal(caller.Project, Expect.Str(image, "owner"));
        Assert.Equal(Md5(data), Expect.Str(image, "checksum"));
        Assert.Equal(data, (await Api.DownloadAsync(imageId, caller)).Bytes);
        // As in Glance, the legacy task is not the image's (its image_id is unset).
        Assert.Equal(0, Expect.Status(await Api.GetAsync($"/v2/images/{imageId}/tasks", caller), 200).Json.GetProperty("tasks").GetArrayLength());

        var list = Expect.Status(await Api.GetAsync("/v2/tasks", caller), 200).Json;
        var stub = Assert.Single(list.GetProperty("tasks").EnumerateArray());
        Assert.Equal(["id", "type", "status", "owner", "created_at", "updated_at", "self", "schema", "expires_at"], Keys(stub));
        Assert.Equal(id, Expect.Str(stub, "id"));
        Assert.Equal("/v2/tasks", Expect.Str(list, "first"));
        Assert.Equal("/v2/schemas/tasks", Expect.Str(list, "schema"));
        Assert.False(list.TryGetProperty("next", out _));
    }

    [Fact]
    public async Task A_legacy_import_that_fails_fails_its_task_and_deletes_its_image()
    {
        var caller = Tasker(GlanceClient.Unique("tp"));
        var name = GlanceClient.Unique("gone");
        _web.Status("/gone.raw", 404);
        var id = Expect.Str(Expect.Status(await CreateAsync(caller, LegacyBody(_web.Url("/gone.raw"), new { name, disk_format = "raw", container_format = "bare" })), 201).Json, "id");

        var task = await FinishedAsync(id, caller);
        Assert.Equal("failure", Expect.Str(task, "status"));
        Assert.Contains("404", Expect.Str(task, "message"));
        Assert.Equal(JsonValueKind.Null, task.GetProperty("result").ValueKind);
        Assert.True(task.TryGetProperty("expires_at", out _));
        Assert.Empty(await Api.ListIdsAsync(caller, "name=" + name));

        // Input that a task cannot run with fails the task, as Glance's unpack_task_input does (201 first).
        var incomplete = JsonSerializer.Serialize(new { type = "import", input = new { import_from = _web.Url("/gone.raw") } });
        var failed = await FinishedAsync(Expect.Str(Expect.Status(await CreateAsync(caller, incomplete), 201).Json, "id"), caller);
        Assert.Equal("Input does not contain 'import_from_format' field", Expect.Str(failed, "message"));
        // An image the image schema refuses: the task fails with the schema's reason.
        var refused = await FinishedAsync(Expect.Str(Expect.Status(await CreateAsync(caller, LegacyBody(_web.Url("/gone.raw"), new { disk_format = "floppy" })), 201).Json, "id"), caller);
        Assert.Contains("disk_format", Expect.Str(refused, "message"));
        // api_image_import is a valid type, but such tasks are started by /v2/images/{id}/import: the task fails.
        var api = await FinishedAsync(Expect.Str(Expect.Status(await CreateAsync(caller, """{"type":"api_image_import","input":{}}"""), 201).Json, "id"), caller);
        Assert.Equal("Input to api_image_import task is empty.", Expect.Str(api, "message"));
    }

    [Theory]
    [InlineData("{}", "Task 'type' is required")]
    [InlineData("[]", "Task 'type' is required")]
    [InlineData("""{"type":"import"}""", "Task 'input' is required")]
    [InlineData("""{"type":"copy","input":{}}""", "Provided object does not match schema 'task': 'copy' is not one of ['import', 'api_image_import']")]
    [InlineData("""{"type":"import","input":"x"}""", "Provided object does not match schema 'task': 'x' is not of type 'null', 'object'")]
    [InlineData("""{"type":"import","input":{},"extra":1}""", "Provided object does not match schema 'task': Additional properties are not allowed ('extra' was unexpected)")]
    [InlineData("""{"type":"import","input":{},"status":"done"}""", "Provided object does not match schema 'task': 'done' is not one of ['pending', 'processing', 'success', 'failure']")]
    [InlineData("""{"type":"import","input":null}""", "Invalid location: None")]
    [InlineData("""{"type":"import","input":{"import_from":""}}""", "Invalid location: ")]
    [InlineData("""{"type":"import","input":{"import_from":"file:///etc/passwd"}}""", "File based imports are not allowed. Please use a non-local source of image data.")]
    [InlineData("""{"type":"import","input":{"import_from":"ftp://example.com/x"}}""", "The given uri is not valid. Please specify a valid uri from the following list of supported uri ['http']")]
    [InlineData("""{"type":"import","input":{"import_from":"http://127.0.0.1:1/x"}}""", "URI for legacy import task does not pass filtering: http://127.0.0.1:1/x")]
    [InlineData("not json", "Malformed JSON in request body.")]
    public async Task Create_refuses_what_Glance_refuses_with_its_message(string body, string message)
    {
        Assert.Equal(message, Message(Expect.Error(await CreateAsync(Persona.Admin, body), 400)));
    }

    [Fact]
    public async Task Create_needs_a_body_and_creates_nothing_when_refused()
    {
        var caller = Tasker(GlanceClient.Unique("tp"));
        Assert.Equal("Body expected in request.", Message(Expect.Error(await Api.SendAsync(HttpMethod.Post, "/v2/tasks", caller), 400)));
        Expect.Error(await CreateAsync(caller, """{"type":"import","input":{"import_from":"http://127.0.0.1:1/x"}}"""), 400);
        Assert.Empty(Expect.Status(await Api.GetAsync("/v2/tasks", caller), 200).Json.GetProperty("tasks").EnumerateArray());
    }

    [Fact]
    public async Task An_images_import_task_is_found_by_the_id_its_image_lists_and_is_another_projects_404()
    {
        var data = Bytes(200_000, seed: 42);
        _web.Serve("/wd.raw", data);
        var owner = Tasker(GlanceClient.Unique("tp"));
        var other = Tasker(GlanceClient.Unique("tp"));
        var image = await Api.CreateUploadableAsync(owner);
        var import = await Api.ImportAsync(image, owner, JsonSerializer.Serialize(new { method = new { name = "web-download", uri = _web.Url("/wd.raw") } }));
        Expect.Status(import, 202);
        await Api.WaitForStatusAsync(image, owner, "active");
        var listed = Assert.Single(Expect.Status(await Api.GetAsync($"/v2/images/{image}/tasks", owner), 200).Json.GetProperty("tasks").EnumerateArray());
        var id = Expect.Str(listed, "id");

        var task = await FinishedAsync(id, owner);
        Assert.Equal(["id", "input", "type", "status", "owner", "message", "result", "created_at", "updated_at", "self", "schema", "image_id", "request_id", "user_id", "expires_at"], Keys(task));
        Assert.Equal("api_image_import", Expect.Str(task, "type"));
        Assert.Equal("success", Expect.Str(task, "status"));
        Assert.Equal(image, Expect.Str(task, "image_id"));
        Assert.Equal(Expect.RequestId(import), Expect.Str(task, "request_id"));
        Assert.Equal(listed.GetProperty("input").GetRawText(), task.GetProperty("input").GetRawText());
        Assert.Equal(listed.GetProperty("result").GetRawText(), task.GetProperty("result").GetRawText());
        // The same times, in the tasks API's format.
        Assert.StartsWith(Expect.Str(task, "created_at")[..^1], Expect.Str(listed, "created_at"));

        Assert.Equal($"Could not find task {id}", Message(Expect.Error(await Api.GetAsync($"/v2/tasks/{id}", other), 404)));
        Assert.Empty(Expect.Status(await Api.GetAsync("/v2/tasks", other), 200).Json.GetProperty("tasks").EnumerateArray());
        Assert.Equal(id, Expect.Str(Assert.Single(Expect.Status(await Api.GetAsync("/v2/tasks", owner), 200).Json.GetProperty("tasks").EnumerateArray()), "id"));
        // An admin sees every project's tasks.
        Expect.Status(await Api.GetAsync($"/v2/tasks/{id}", Persona.Admin), 200);
        Assert.Contains(id, Ids(Expect.Status(await Api.GetAsync($"/v2/tasks?owner={owner.Project}", Persona.Admin), 200).Json));
    }

    private static List<string> Ids(JsonElement list) => [.. list.GetProperty("tasks").EnumerateArray().Select(t => Expect.Str(t, "id"))];

    [Fact]
    public async Task The_list_filters_sorts_and_pages_as_Glance_with_its_links()
    {
        var caller = Tasker(GlanceClient.Unique("tp"));
        _web.Serve("/page.raw", Bytes(1000, seed: 43));
        _web.Status("/nope.raw", 404);
        // Five tasks: three that succeed, two that fail; created in this order.
        var created = new List<string>();
        foreach (var path in new[] { "/page.raw", "/nope.raw", "/page.raw", "/nope.raw", "/page.raw" })
        {
            created.Add(Expect.Str(Expect.Status(await CreateAsync(caller, LegacyBody(_web.Url(path))), 201).Json, "id"));
        }
        foreach (var id in created)
        {
            await FinishedAsync(id, caller);
        }
        List<string> Created(params int[] order) => [.. order.Select(i => created[i])];

        // Newest first by default (created_at, then id, descending).
        var all = Expect.Status(await Api.GetAsync("/v2/tasks", caller), 200).Json;
        Assert.Equal(Created(4, 3, 2, 1, 0), Ids(all));
        Assert.Equal(Created(0, 1, 2, 3, 4), Ids(Expect.Status(await Api.GetAsync("/v2/tasks?sort_dir=asc", caller), 200).Json));
        // A sort key, then created_at and id, all in its direction.
        Assert.Equal(Created(1, 3, 0, 2, 4), Ids(Expect.Status(await Api.GetAsync("/v2/tasks?sort_key=status&sort_dir=asc", caller), 200).Json));
        Assert.Equal(Created(4, 2, 0, 3, 1), Ids(Expect.Status(await Api.GetAsync("/v2/tasks?sort_key=status", caller), 200).Json));
        // Filters: status, type, any text column; a datetime column never matches; other parameters are ignored.
        Assert.Equal(Created(3, 1), Ids(Expect.Status(await Api.GetAsync("/v2/tasks?status=failure", caller), 200).Json));
        Assert.Equal(5, Ids(Expect.Status(await Api.GetAsync("/v2/tasks?type=import&bogus=1", caller), 200).Json).Count);
        Assert.Equal(Created(2), Ids(Expect.Status(await Api.GetAsync($"/v2/tasks?id={created[2]}", caller), 200).Json));
        Assert.Empty(Ids(Expect.Status(await Api.GetAsync("/v2/tasks?status=success&status=failure", caller), 200).Json));
        Assert.Empty(Ids(Expect.Status(await Api.GetAsync("/v2/tasks?created_at=" + Expect.Str(all.GetProperty("tasks")[0], "created_at"), caller), 200).Json));

        // Pages of two: a full page links the next (even the last full one), with the query kept.
        var seen = new List<string>();
        string? next = "/v2/tasks?limit=2&sort_dir=desc";
        var pages = 0;
        while (next is not null)
        {
            Assert.True(++pages < 10, "paging does not end");
            var page = Expect.Status(await Api.GetAsync(next, caller), 200).Json;
            Assert.Equal("/v2/tasks?limit=2&sort_dir=desc", Expect.Str(page, "first"));
            var ids = Ids(page);
            seen.AddRange(ids);
            next = page.TryGetProperty("next", out var link) ? link.GetString() : null;
            Assert.Equal(ids.Count == 2, next is not null);
            if (next is not null)
            {
                Assert.Equal($"/v2/tasks?limit=2&sort_dir=desc&marker={ids[^1]}", next);
            }
        }
        Assert.Equal(3, pages);
        Assert.Equal(Created(4, 3, 2, 1, 0), seen);
        Assert.Equal(Created(0), Ids(Expect.Status(await Api.GetAsync($"/v2/tasks?marker={created[1]}", caller), 200).Json));
        var empty = Expect.Status(await Api.GetAsync("/v2/tasks?limit=0", caller), 200).Json;
        Assert.Empty(Ids(empty));
        Assert.False(empty.TryGetProperty("next", out _));
    }

    [Theory]
    [InlineData("sort_key=input", "Sort key supplied was not valid.")]
    [InlineData("sort_dir=up", "Invalid sort direction: up")]
    [InlineData("status=done", "Invalid status value: done")]
    [InlineData("type=api_image_import", "Invalid type value: api_image_import")]
    [InlineData("limit=abc", "limit param must be an integer")]
    [InlineData("limit=-1", "limit param must be positive")]
    [InlineData("marker=zzz", "Invalid marker format")]
    [InlineData("marker=18e53fa4-58b8-498a-ae6b-4bbe205b3de0", "Task with the given id 18e53fa4-58b8-498a-ae6b-4bbe205b3de0 was not found")]
    public async Task The_list_refuses_what_Glance_refuses_with_its_message(string query, string message)
    {
        Assert.Equal(message, Message(Expect.Error(await Api.GetAsync("/v2/tasks?" + query, Persona.Admin), 400)));
    }

    [Fact]
    public async Task Show_and_delete_answer_as_Glance()
    {
        var unknown = Guid.NewGuid().ToString();
        Assert.Equal($"Could not find task {unknown}", Message(Expect.Error(await Api.GetAsync($"/v2/tasks/{unknown}", Persona.Admin), 404)));
        Assert.Equal("Could not find task nope", Message(Expect.Error(await Api.GetAsync("/v2/tasks/nope", Persona.Admin), 404)));
        // Only the canonical (lower-case) form of an id names a task, as Glance's string ids.
        Expect.Error(await Api.GetAsync($"/v2/tasks/{unknown.ToUpperInvariant()}", Persona.Admin), 404);
        var delete = Expect.Error(await Api.DeleteAsync($"/v2/tasks/{unknown}", Persona.Admin), 405);
        Assert.Equal("GET", delete.Header("Allow"));
        Assert.StartsWith("This operation is currently not permitted on Glance Tasks.", Message(delete));
        // Without the policy: 403 first, whatever the id.
        Expect.Error(await Api.DeleteAsync($"/v2/tasks/{unknown}", Persona.P1), 403);
        Expect.Error(await Api.GetAsync("/v2/tasks/nope", Persona.P1), 403);
    }
}

/// <summary>
/// The tasks API under Zed's default policy (<c>tasks_api_access: role:admin</c>): every call of a
/// non-admin is refused with Glance's message before anything else is looked at; an admin is served.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class TasksPolicyTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    [Fact]
    public async Task Only_admins_may_use_the_tasks_api_by_default()
    {
        const string refusal = "You are not authorized to complete tasks_api_access action.";
        var id = Guid.NewGuid();
        foreach (var response in new[]
        {
            await _api.GetAsync("/v2/tasks", Persona.P1),
            await _api.GetAsync("/v2/tasks?limit=abc", Persona.P1),
            await _api.GetAsync($"/v2/tasks/{id}", Persona.P1),
            await _api.PostJsonAsync("/v2/tasks", Persona.P1, """{"type":"import","input":{"import_from":"http://example.com/x"}}"""),
            await _api.PostJsonAsync("/v2/tasks", Persona.P1, "not json"),
            await _api.DeleteAsync($"/v2/tasks/{id}", Persona.P1),
        })
        {
            Assert.Equal(refusal, Expect.Str(Expect.Error(response, 403).Json, "message"));
        }
        Expect.Status(await _api.GetAsync("/v2/tasks", Persona.Admin), 200);
        Expect.Error(await _api.GetAsync($"/v2/tasks/{id}", Persona.Admin), 404);
        // The default identity (no headers) is an admin: glanceclient and openstacksdk work without Keystone.
        Expect.Status(await _api.GetAsync("/v2/tasks", null), 200);
    }
}
