using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary><c>/v2/property-definitions</c>, its enforcement on image writes and its reflection in <c>/v2/schemas/image</c> (issue 4, item 3).</summary>
[Collection(ApiCollection.Name)]
public sealed class PropertyDefinitionsTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    private static string NewName(string label = "def") => $"{label}_{Guid.NewGuid():N}";

    [Fact]
    public async Task Anyone_lists_and_shows_definitions()
    {
        var list = Expect.Status(await _api.GetAsync("/v2/property-definitions", Persona.P1), 200);

        Assert.Equal("application/json", list.MediaType);
        var definitions = list.Json.GetProperty("definitions").EnumerateArray().ToList();
        var cores = Assert.Single(definitions, d => d.GetProperty("name").GetString() == "hw_cpu_cores");
        Assert.Equal("integer", Expect.Str(cores, "type"));
        Assert.False(cores.GetProperty("prefix").GetBoolean());
        Assert.Equal(1, cores.GetProperty("minimum").GetDouble());
        Assert.Equal(1024, cores.GetProperty("maximum").GetDouble());
        Assert.True(Assert.Single(definitions, d => d.GetProperty("name").GetString() == "trait:").GetProperty("prefix").GetBoolean());

        var bus = Expect.Status(await _api.GetAsync("/v2/property-definitions/hw_disk_bus", Persona.P2), 200).Json;
        Assert.Equal("string", Expect.Str(bus, "type"));
        Assert.Contains("virtio", bus.GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Expect.Error(await _api.GetAsync($"/v2/property-definitions/{NewName()}", Persona.P1), 404);
    }

    [Fact]
    public async Task An_admin_puts_and_deletes_a_definition()
    {
        var name = NewName();
        var path = $"/v2/property-definitions/{name}";

        var created = Expect.Status(await _api.PutJsonAsync(path, Persona.Admin,
            """{"type":"string","enum":["a","b"],"max_length":8,"description":"letters"}"""), 201);
        Assert.EndsWith(path, created.Header("Location"));
        Assert.Equal(name, Expect.Str(created.Json, "name"));
        Assert.Equal(["a", "b"], created.Json.GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(8, created.Json.GetProperty("max_length").GetInt32());

        var replaced = Expect.Status(await _api.PutJsonAsync(path, Persona.Admin,
            """{"type":"integer","minimum":2,"maximum":9,"prefix":false}"""), 200);
        Assert.Equal("integer", Expect.Str(replaced.Json, "type"));
        var shown = Expect.Status(await _api.GetAsync(path, Persona.P1), 200).Json;
        Assert.Equal(9, shown.GetProperty("maximum").GetDouble());
        Assert.False(shown.TryGetProperty("enum", out _));

        Expect.Status(await _api.DeleteAsync(path, Persona.Admin), 204);
        Expect.Error(await _api.GetAsync(path, Persona.P1), 404);
        Expect.Error(await _api.DeleteAsync(path, Persona.Admin), 404);
    }

    [Fact]
    public async Task Members_may_not_write_definitions()
    {
        var name = NewName();

        Expect.Error(await _api.PutJsonAsync($"/v2/property-definitions/{name}", Persona.P1, """{"type":"string"}"""), 403);
        Expect.Error(await _api.DeleteAsync("/v2/property-definitions/hw_cpu_cores", Persona.P1), 403);

        Expect.Error(await _api.GetAsync($"/v2/property-definitions/{name}", Persona.P1), 404);
        Expect.Status(await _api.GetAsync("/v2/property-definitions/hw_cpu_cores", Persona.P1), 200);
    }

    [Theory]
    [InlineData("""{"type":"string","pattern":"([a-z"}""")]
    [InlineData("""{"type":"integer","minimum":5,"maximum":1}""")]
    [InlineData("""{"type":"colour"}""")]
    [InlineData("""{"enum":["a"]}""")]
    [InlineData("""{"type":"string","unknown":1}""")]
    [InlineData("""{"type":"string","max_length":"long"}""")]
    [InlineData("""[]""")]
    [InlineData("""{"type":"string","name":"another"}""")]
    public async Task A_bad_definition_is_a_bad_request(string body)
    {
        var name = NewName();

        Expect.Error(await _api.PutJsonAsync($"/v2/property-definitions/{name}", Persona.Admin, body), 400);

        Expect.Error(await _api.GetAsync($"/v2/property-definitions/{name}", Persona.P1), 404);
    }

    [Fact]
    public async Task Patch_and_create_check_values_against_definitions()
    {
        // Rules an operator enforces (the seeded definitions only describe): like hw_cpu_cores, hw_disk_bus, os_distro.
        var cores = NewName("cores");
        var bus = NewName("bus");
        var distro = NewName("distro");
        Expect.Status(await _api.PutJsonAsync($"/v2/property-definitions/{cores}", Persona.Admin, """{"type":"integer","minimum":1,"maximum":1024}"""), 201);
        Expect.Status(await _api.PutJsonAsync($"/v2/property-definitions/{bus}", Persona.Admin, """{"type":"string","enum":["scsi","virtio"],"enforced":true}"""), 201);
        Expect.Status(await _api.PutJsonAsync($"/v2/property-definitions/{distro}", Persona.Admin, """{"type":"string","enum":["ubuntu"]}"""), 201);
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1, new Dictionary<string, string> { [cores] = "2" }), "id");
        var path = $"/v2/images/{id}";

        var ok = Expect.Status(await _api.PatchAsync(path, Persona.P1, $$"""[{"op":"add","path":"/{{cores}}","value":"4"}]"""), 200);
        Assert.Equal("4", Expect.Str(ok.Json, cores));
        foreach (var value in new[] { "0", "many" })
        {
            var refused = Expect.Error(await _api.PatchAsync(path, Persona.P1, $$"""[{"op":"replace","path":"/{{cores}}","value":"{{value}}"}]"""), 400);
            Assert.Equal($"Property '{cores}' must be an integer between 1 and 1024: '{value}'", Expect.Str(refused.Json, "message"));
        }
        Expect.Error(await _api.PatchAsync(path, Persona.P1, $$"""[{"op":"add","path":"/{{bus}}","value":"floppy"}]"""), 400);
        Expect.Error(await _api.PostJsonAsync("/v2/images", Persona.P1, $$"""{"name":"x","{{distro}}":"plan9"}"""), 400);
        Assert.Equal("4", Expect.Str(await _api.ShowImageAsync(id, Persona.P1), cores));
    }

    [Fact]
    public async Task The_image_schema_advertises_definitions_as_string_properties()
    {
        var flag = NewName("flag");
        var ratio = NewName("ratio");
        var busName = NewName("bus");
        var coresName = NewName("cores");
        var distroName = NewName("distro");
        var versionName = NewName("version");
        Expect.Status(await _api.PutJsonAsync($"/v2/property-definitions/{flag}", Persona.Admin, """{"type":"boolean"}"""), 201);
        Expect.Status(await _api.PutJsonAsync($"/v2/property-definitions/{ratio}", Persona.Admin,
            """{"type":"number","minimum":0.5,"description":"A ratio."}"""), 201);
        Expect.Status(await _api.PutJsonAsync($"/v2/property-definitions/{busName}", Persona.Admin, """{"type":"string","enum":["scsi","virtio"]}"""), 201);
        Expect.Status(await _api.PutJsonAsync($"/v2/property-definitions/{coresName}", Persona.Admin, """{"type":"integer","minimum":1,"maximum":1024}"""), 201);
        Expect.Status(await _api.PutJsonAsync($"/v2/property-definitions/{distroName}", Persona.Admin,
            """{"type":"string","enum":["ubuntu"],"description":"See property-keys."}"""), 201);
        Expect.Status(await _api.PutJsonAsync($"/v2/property-definitions/{versionName}", Persona.Admin, """{"type":"string","max_length":64}"""), 201);
        // A name glanceclient already uses as an option (--progress) would break its parser: not advertised.
        Expect.Status(await _api.PutJsonAsync("/v2/property-definitions/progress", Persona.Admin, """{"type":"string"}"""), 201);
        try
        {
            var properties = Expect.Status(await _api.GetAsync("/v2/schemas/image", Persona.P1), 200).Json.GetProperty("properties");

            var bus = properties.GetProperty(busName);
            Assert.Equal("string", Expect.Str(bus, "type"));
            Assert.False(bus.GetProperty("is_base").GetBoolean());
            Assert.Contains("scsi", bus.GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
            Assert.All(bus.GetProperty("enum").EnumerateArray(), e => Assert.Equal(JsonValueKind.String, e.ValueKind));

            var cores = properties.GetProperty(coresName);
            Assert.Equal("string", Expect.Str(cores, "type"));
            Assert.Matches(Expect.Str(cores, "pattern"), "4");
            Assert.DoesNotMatch(Expect.Str(cores, "pattern"), "many");
            Assert.Contains("between 1 and 1024", Expect.Str(cores, "description"));
            Assert.False(cores.TryGetProperty("minimum", out _));

            var distro = properties.GetProperty(distroName);
            Assert.Contains("ubuntu", distro.GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
            Assert.Contains("property-keys", Expect.Str(distro, "description"));
            Assert.Equal(64, properties.GetProperty(versionName).GetProperty("maxLength").GetInt32());
            Assert.Equal(["true", "false"], properties.GetProperty(flag).GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("string", Expect.Str(properties.GetProperty(flag), "type"));
            Assert.Matches(Expect.Str(properties.GetProperty(ratio), "pattern"), "1.5");
            Assert.StartsWith("A ratio. Must be a number of at least 0.5", Expect.Str(properties.GetProperty(ratio), "description"));
            Assert.False(properties.TryGetProperty("trait:", out _));
            Assert.False(properties.TryGetProperty("progress", out _));
            Assert.Equal(JsonValueKind.Object, properties.GetProperty("kernel_id").ValueKind);
        }
        finally
        {
            Expect.Status(await _api.DeleteAsync("/v2/property-definitions/progress", Persona.Admin), 204);
        }
        var after = Expect.Status(await _api.GetAsync("/v2/schemas/image", Persona.P1), 200).Json.GetProperty("properties");
        Assert.True(after.TryGetProperty(flag, out _));
        Expect.Status(await _api.DeleteAsync($"/v2/property-definitions/{flag}", Persona.Admin), 204);
        after = Expect.Status(await _api.GetAsync("/v2/schemas/image", Persona.P1), 200).Json.GetProperty("properties");
        Assert.False(after.TryGetProperty(flag, out _));
    }
}
