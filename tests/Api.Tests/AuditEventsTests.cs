using System.Text.Json;
using Glance.Api.Tests.Support;
using static Glance.Api.Tests.Support.ImageBytes;

namespace Glance.Api.Tests;

/// <summary>
/// The audit-events extension through real HTTP: one event per mutation (refused ones too),
/// newest first, carrying who, what (field names, never values), the outcome and the request id;
/// admins only; marker/limit and filters; and nothing at all with the extension off (the default).
/// </summary>
public sealed class AuditEventsTests : IAsyncLifetime
{
    private GlanceServer? _server;

    private GlanceClient Client => (_server ?? throw new InvalidOperationException("not started")).Client;

    public Task InitializeAsync()
    {
        _server = new GlanceServer(_ => new Dictionary<string, string?> { ["Glance:Extensions:audit-events:Enabled"] = "true" });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Every_mutation_becomes_one_event_with_names_but_no_values()
    {
        var created = Expect.Status(await Client.PostJsonAsync("/v2/images", Persona.P1,
            GlanceClient.Json(new { name = "audited", disk_format = "raw", container_format = "bare", x_secret = "s3cr3t-value" })), 201);
        var id = Expect.Str(JsonDocument.Parse(created.Text).RootElement, "id");
        var requestId = Expect.RequestId(created);
        Expect.Status(await Client.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"replace","path":"/x_secret","value":"other-s3cr3t"}]"""), 200);
        Expect.Error(await Client.PatchAsync($"/v2/images/{id}", Persona.P2, """[{"op":"replace","path":"/name","value":"stolen"}]"""), 404);
        await Client.UploadOkAsync(id, Persona.P1, Bytes(5000, seed: 1));
        Expect.Status(await Client.DeleteAsync($"/v2/images/{id}", Persona.P1), 204);

        var page = await EventsAsync($"/v2/events?image_id={id}");
        Assert.Equal(["image.delete", "image.complete-upload", "image.begin-upload", "image.update", "image.update", "image.create"],
            page.Select(e => Expect.Str(e, "operation")));
        var create = page[^1];
        Assert.Equal("p1", Expect.Str(create, "project_id"));
        Assert.Equal("user-p1", Expect.Str(create, "user_id"));
        Assert.Equal("success", Expect.Str(create, "outcome"));
        Assert.Equal(requestId, Expect.Str(create, "request_id"));
        Assert.Contains("x_secret", create.GetProperty("fields").EnumerateArray().Select(f => f.GetString()));
        var refused = page[^3];
        Assert.Equal(("p2", "failure", 404), (Expect.Str(refused, "project_id"), Expect.Str(refused, "outcome"), refused.GetProperty("status").GetInt32()));
        var raw = Expect.Status(await Client.GetAsync($"/v2/events?image_id={id}", Persona.Admin), 200).Text;
        Assert.DoesNotContain("s3cr3t", raw);
    }

    [Fact]
    public async Task Events_are_for_admins_and_page_with_marker_and_filters()
    {
        var project = new Persona($"audit-{Guid.NewGuid():N}", "member", "u");
        for (var i = 0; i < 5; i++)
        {
            Expect.Status(await Client.PostJsonAsync("/v2/images", project, "{}"), 201);
        }
        Expect.Error(await Client.GetAsync("/v2/events", Persona.P1), 403);
        Expect.Error(await Client.GetAsync("/v2/events?limit=zero", Persona.Admin), 400);
        Expect.Error(await Client.GetAsync("/v2/events?since=yesterday", Persona.Admin), 400);

        using var first = JsonDocument.Parse(Expect.Status(await Client.GetAsync($"/v2/events?project={project.Project}&operation=image.create&limit=3", Persona.Admin), 200).Text);
        Assert.Equal(3, first.RootElement.GetProperty("events").GetArrayLength());
        var next = Expect.Str(first.RootElement, "next");
        using var second = JsonDocument.Parse(Expect.Status(await Client.GetAsync(next, Persona.Admin), 200).Text);
        Assert.Equal(2, second.RootElement.GetProperty("events").GetArrayLength());
        Assert.False(second.RootElement.TryGetProperty("next", out _));
        var ids = first.RootElement.GetProperty("events").EnumerateArray().Concat(second.RootElement.GetProperty("events").EnumerateArray())
            .Select(e => Expect.Str(e, "id")).ToList();
        Assert.Equal(ids.OrderBy(i => i, StringComparer.Ordinal), ids);
        Assert.Equal(5, ids.Distinct().Count());
        using var none = JsonDocument.Parse(Expect.Status(await Client.GetAsync($"/v2/events?project={project.Project}&since=2999-01-01T00:00:00Z", Persona.Admin), 200).Text);
        Assert.Equal(0, none.RootElement.GetProperty("events").GetArrayLength());
    }

    private async Task<List<JsonElement>> EventsAsync(string path)
    {
        using var list = JsonDocument.Parse(Expect.Status(await Client.GetAsync(path, Persona.Admin), 200).Text);
        return [.. list.RootElement.GetProperty("events").EnumerateArray().Select(e => e.Clone())];
    }
}
