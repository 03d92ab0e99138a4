using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>Server templates as the <c>server-templates</c> extension: listed (kind api) when on, gone when off.</summary>
[Collection(ApiCollection.Name)]
public sealed class TemplatesExtensionTests(ApiFixture fixture)
{
    [Fact]
    public async Task It_is_listed_as_an_api_extension()
    {
        var extension = Expect.Status(await fixture.Client.GetAsync("/v2/extensions/server-templates", Persona.P1), 200).Json.GetProperty("extension");
        Assert.Equal("api", Expect.Str(extension, "kind"));
        Assert.Equal("Server templates", Expect.Str(extension, "name"));
    }
}

/// <summary>The service with the extension switched off: no routes, no listing, no shipped templates created.</summary>
public sealed class TemplatesExtensionOffTests() : TemplatesServerTests("server-templates", "false")
{
    [Fact]
    public async Task Switched_off_it_has_no_routes_and_is_not_listed()
    {
        using var list = JsonDocument.Parse(Expect.Status(await Client.GetAsync("/v2/extensions", Persona.P1), 200).Text);
        Assert.DoesNotContain(list.RootElement.GetProperty("extensions").EnumerateArray(), e => e.GetProperty("alias").GetString() == "server-templates");
        Expect.Status(await Client.GetAsync("/v2/templates", Persona.P1), 404);
        Expect.Status(await Client.PostJsonAsync("/v2/templates", Persona.P1, "{}"), 404);
        Expect.Status(await Client.GetAsync("/v2/images", Persona.P1), 200);
    }
}

/// <summary>With audit events on: template changes and renders are recorded, a hidden parameter's value is not.</summary>
public sealed class TemplatesAuditTests() : TemplatesServerTests("audit-events", "true")
{
    [Fact]
    public async Task Hidden_values_never_reach_the_audit_log()
    {
        var image = await Client.CreateUploadableAsync(Persona.P1);
        await Client.UploadOkAsync(image, Persona.P1, ImageBytes.Bytes(16));
        var created = Expect.Status(await Client.PostJsonAsync("/v2/templates", Persona.P1, GlanceClient.Json(new
        {
            name = "audited",
            version = new
            {
                image = new { id = image },
                parameters = new { pw = new { type = "string", hidden = true } },
                configuration = new { format = "cloud-config", template = "#cloud-config\nwrite_files:\n  - path: /x\n    content: {{ parameters.pw }}\n" },
            },
        })), 201).Json;
        var id = Expect.Str(created, "id");
        var rendered = Expect.Status(await Client.PostJsonAsync($"/v2/templates/{id}/render", Persona.P1, GlanceClient.Json(new { parameters = new { pw = "sw0rdfish-secret" } })), 200);
        Assert.Contains("sw0rdfish-secret", rendered.Text);
        var events = Expect.Status(await Client.GetAsync("/v2/events?limit=100", Persona.Admin), 200);
        var operations = events.Json.GetProperty("events").EnumerateArray().Where(e => Expect.Str(e, "target") == id).Select(e => Expect.Str(e, "operation")).ToList();
        Assert.Contains("template.create", operations);
        Assert.DoesNotContain("sw0rdfish-secret", events.Text);
    }
}

/// <summary>A service of its own with one extension switched on or off.</summary>
public abstract class TemplatesServerTests(string extension, string enabled) : IAsyncLifetime
{
    private readonly GlanceServer _server = new(_ => new Dictionary<string, string?> { [$"Glance:Extensions:{extension}:Enabled"] = enabled });

    /// <summary>A client of the service.</summary>
    protected GlanceClient Client => _server.Client;

    /// <inheritdoc />
    public Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public Task DisposeAsync() => _server.DisposeAsync().AsTask();
}
