using System.Text.Json;
using Glance.Api.Tests.Support;
using Glance.Tests.Shared;
using static Glance.Api.Tests.Support.ImageBytes;

namespace Glance.Api.Tests;

/// <summary>
/// Extensions through real HTTP: the listing (<c>/v2/extensions</c>) shows exactly the enabled
/// ones in Neutron's shape plus <c>kind</c>; a disabled one is absent (404) and its rule is not
/// applied. Format inspection (on by default) refuses data that is not its disk_format or that
/// names other files, leaving the image queued with its bytes gone; off, such data is stored.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class ExtensionsTests(ApiFixture fixture) : IDisposable
{
    private readonly GlanceClient _api = fixture.Client;
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task The_listing_shows_the_enabled_extensions_in_neutrons_shape()
    {
        using var list = JsonDocument.Parse(Expect.Status(await _api.GetAsync("/v2/extensions", Persona.P1), 200).Text);
        var extensions = list.RootElement.GetProperty("extensions").EnumerateArray().ToList();
        var inspection = Assert.Single(extensions, e => e.GetProperty("alias").GetString() == "format-inspection");
        foreach (var field in new[] { "alias", "name", "description", "updated", "kind" })
        {
            Assert.Equal(JsonValueKind.String, inspection.GetProperty(field).ValueKind);
        }
        Assert.Equal("behaviour", Expect.Str(inspection, "kind"));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-00:00$", Expect.Str(inspection, "updated"));
        var link = Assert.Single(inspection.GetProperty("links").EnumerateArray());
        Assert.Equal("describedby", Expect.Str(link, "rel"));
        // No rules file here: property protections are off, so not listed.
        Assert.DoesNotContain(extensions, e => e.GetProperty("alias").GetString() == "property-protections");

        using var one = JsonDocument.Parse(Expect.Status(await _api.GetAsync("/v2/extensions/format-inspection", Persona.P2), 200).Text);
        Assert.Equal("format-inspection", Expect.Str(one.RootElement.GetProperty("extension"), "alias"));
        Expect.Error(await _api.GetAsync("/v2/extensions/property-protections", Persona.P1), 404);
        Expect.Error(await _api.GetAsync("/v2/extensions/no-such-thing", Persona.P1), 404);
    }

    [Fact]
    public async Task A_qcow2_with_a_backing_file_is_refused_and_the_image_stays_queued_without_bytes()
    {
        var id = await _api.CreateUploadableAsync(Persona.P1, new() { ["disk_format"] = "qcow2" });
        var error = Expect.Error(await _api.UploadAsync(id, Persona.P1, Octets(File.ReadAllBytes(DiskImages.Qcow2WithBackingFile(_directory.Path)))), 400);
        Assert.Contains("backing file", error.Text);
        var image = await _api.ShowImageAsync(id, Persona.P1);
        Assert.Equal("queued", Expect.Str(image, "status"));
        Assert.Equal(JsonValueKind.Null, image.GetProperty("size").ValueKind);
        Assert.Empty(FilesOf(fixture.DataDirectory, id));

        // The image takes a safe qcow2 afterwards.
        var good = File.ReadAllBytes(DiskImages.Create(_directory.Path, "qcow2", "1G"));
        await _api.UploadOkAsync(id, Persona.P1, good);
        image = await _api.ShowImageAsync(id, Persona.P1);
        Assert.Equal("active", Expect.Str(image, "status"));
        Assert.Equal(1L << 30, image.GetProperty("virtual_size").GetInt64());
    }

    [Fact]
    public async Task A_vmdk_naming_a_host_file_and_content_of_another_format_are_refused()
    {
        var vmdk = await _api.CreateUploadableAsync(Persona.P1, new() { ["disk_format"] = "vmdk" });
        var error = Expect.Error(await _api.UploadAsync(vmdk, Persona.P1, Octets(DiskImages.VmdkNamingFile(_directory.Path, "/etc/passwd"))), 400);
        Assert.Contains("/etc/passwd", error.Text);
        Assert.Equal("queued", await _api.StatusAsync(vmdk, Persona.P1));

        var qcow2 = File.ReadAllBytes(DiskImages.Create(_directory.Path, "qcow2", "1M"));
        var raw = await _api.CreateUploadableAsync(Persona.P1);
        Assert.Contains("does not match disk_format raw", Expect.Error(await _api.UploadAsync(raw, Persona.P1, Octets(qcow2)), 400).Text);
        var declaredQcow2 = await _api.CreateUploadableAsync(Persona.P1, new() { ["disk_format"] = "qcow2" });
        Assert.Contains("does not match disk_format qcow2", Expect.Error(await _api.UploadAsync(declaredQcow2, Persona.P1, Octets(Bytes(100_000, seed: 3))), 400).Text);
        // Empty data is no format's and names no file (the openstack CLI sends an empty stdin).
        var empty = await _api.CreateUploadableAsync(Persona.P1, new() { ["disk_format"] = "qcow2" });
        Expect.Status(await _api.UploadAsync(empty, Persona.P1, Octets([])), 204);
        // Plain bytes are raw; formats nobody inspects take anything.
        await _api.UploadOkAsync(raw, Persona.P1, Bytes(100_000, seed: 4));
        var ami = await _api.CreateUploadableAsync(Persona.P1, new() { ["disk_format"] = "ami", ["container_format"] = "ami" });
        await _api.UploadOkAsync(ami, Persona.P1, qcow2);
    }

    [Fact]
    public async Task A_glance_direct_import_of_an_unsafe_image_fails_and_drops_the_staged_bytes()
    {
        var id = await _api.CreateUploadableAsync(Persona.P1, new() { ["disk_format"] = "qcow2" });
        Expect.Status(await _api.StageAsync(id, Persona.P1, Octets(File.ReadAllBytes(DiskImages.Qcow2WithDataFile(_directory.Path)))), 204);
        Expect.Status(await _api.ImportAsync(id, Persona.P1, """{"method": {"name": "glance-direct"}}"""), 202);
        await _api.WaitForStatusAsync(id, Persona.P1, "queued");
        using var tasks = JsonDocument.Parse(Expect.Status(await _api.GetAsync($"/v2/images/{id}/tasks", Persona.P1), 200).Text);
        var task = Assert.Single(tasks.RootElement.GetProperty("tasks").EnumerateArray());
        Assert.Equal("failure", Expect.Str(task, "status"));
        Assert.Contains("external data file", Expect.Str(task, "message"));
        Assert.Empty(FilesOf(fixture.DataDirectory, id));
    }
}

/// <summary>The same service with format inspection and quotas switched off: not listed, no limit applied, and the data of any format is stored.</summary>
public sealed class ExtensionsOffTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private GlanceServer? _server;

    private GlanceClient Client => (_server ?? throw new InvalidOperationException("not started")).Client;

    public Task InitializeAsync()
    {
        _server = new GlanceServer(_ => new Dictionary<string, string?>
        {
            ["Glance:Extensions:format-inspection:Enabled"] = "false",
            // Limits that would refuse every create, with the extension switched off.
            ["Glance:Extensions:quotas:Enabled"] = "false",
            ["Glance:Extensions:quotas:Limits:image_count_total"] = "0",
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        _directory.Dispose();
    }

    [Fact]
    public async Task A_disabled_extension_is_not_listed_and_its_rule_is_not_applied()
    {
        using var list = JsonDocument.Parse(Expect.Status(await Client.GetAsync("/v2/extensions", Persona.P1), 200).Text);
        Assert.DoesNotContain(list.RootElement.GetProperty("extensions").EnumerateArray(), e => e.GetProperty("alias").GetString() == "format-inspection");
        Expect.Error(await Client.GetAsync("/v2/extensions/format-inspection", Persona.P1), 404);
        Expect.Error(await Client.GetAsync("/v2/extensions/quotas", Persona.P1), 404);
        // No quotas: usage is empty, as a Glance without unified limits answers.
        Assert.Equal("""{"usage":{}}""", Expect.Status(await Client.GetAsync("/v2/info/usage", Persona.P1), 200).Text);

        // What Glance 25.1 does: a qcow2 declared as vmdk, header-less bytes declared as qcow2 and a
        // qcow2 with a backing file are all stored; virtual_size only where the header is the declared format's.
        var qcow2 = File.ReadAllBytes(DiskImages.Create(_directory.Path, "qcow2", "1G"));
        foreach (var (diskFormat, data) in new[] { ("vmdk", qcow2), ("qcow2", Bytes(100_000, seed: 3)), ("qcow2", File.ReadAllBytes(DiskImages.Qcow2WithBackingFile(_directory.Path))) })
        {
            var id = await Client.CreateUploadableAsync(Persona.P1, new() { ["disk_format"] = diskFormat });
            await Client.UploadOkAsync(id, Persona.P1, data);
            Assert.Equal("active", await Client.StatusAsync(id, Persona.P1));
        }
    }
}
