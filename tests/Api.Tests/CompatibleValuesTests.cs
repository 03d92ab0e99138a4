using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// Compatible by default (issue 9, item 1): values the real Glance accepts are accepted, on create
/// and on patch, and the image schema publishes no constraint Glance's schema lacks; only a
/// definition an operator marks enforced refuses values (and then the schema says so).
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class CompatibleValuesTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    /// <summary>Values real clouds use, each a string Glance stores as sent.</summary>
    public static TheoryData<string, string> RealWorldValues => new()
    {
        { "os_distro", "ubuntu" }, { "os_distro", "rhel" }, { "os_distro", "windows" }, { "os_distro", "talos" },
        { "os_distro", "Ubuntu" }, { "os_distro", "coreos" }, { "os_distro", "flatcar" }, { "os_distro", "cirros" },
        { "os_version", new string('9', 100) }, { "hw_disk_bus", "nvme" }, { "hw_disk_bus", "virtio" },
        { "hw_cpu_cores", "0" }, { "hw_cpu_cores", "4" }, { "hw_cpu_sockets", "two" }, { "hw_cpu_threads", "-1" },
        { "hw_video_model", "virtio-gpu" }, { "trait:CUSTOM_GPU", "forbidden" }, { "trait:HW_CPU_X86_AVX2", "required" },
    };

    [Theory]
    [MemberData(nameof(RealWorldValues))]
    public async Task A_value_Glance_accepts_is_accepted_on_create_and_patch_and_shown_as_sent(string name, string value)
    {
        var created = await _api.CreateImageAsync(Persona.P1, new Dictionary<string, string> { ["name"] = "compat", [name] = value });
        Assert.Equal(value, Expect.Str(created, name));

        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { name = "compat-patch" }), "id");
        var patched = Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1,
            GlanceClient.Json(new[] { new { op = "add", path = "/" + name.Replace("~", "~0").Replace("/", "~1"), value } })), 200).Json;
        Assert.Equal(value, Expect.Str(patched, name));
        Assert.Equal(value, Expect.Str(await _api.ShowImageAsync(id, Persona.P1), name));
    }

    [Fact]
    public async Task The_spec_examples_are_accepted()
    {
        // The create and patch examples of the Images API v2 reference (../shared/spec).
        var id = Guid.NewGuid().ToString();
        var create = $$"""{"name":"Ubuntu","container_format":"bare","disk_format":"raw","id":"{{id}}","hw_disk_bus":"scsi","tags":["a"]}""";
        Expect.Status(await _api.PostJsonAsync("/v2/images", Persona.P1, create), 201);
        Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"add","path":"/foo","value":"bar"}]"""), 200);
        var patch = """[{"op":"replace","path":"/name","value":"Fedora 17"},{"op":"replace","path":"/tags","value":["fedora","beefy"]},{"op":"add","path":"/hw_disk_bus","value":"scsi"},{"op":"remove","path":"/foo"}]""";
        var image = Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, patch), 200).Json;
        Assert.Equal("Fedora 17", Expect.Str(image, "name"));
        Assert.Equal(["beefy", "fedora"], Expect.Tags(image));
    }

    [Fact]
    public async Task The_image_schema_publishes_no_constraint_for_a_seeded_definition()
    {
        var schema = Expect.Status(await _api.GetAsync("/v2/schemas/image", Persona.P1), 200).Json.GetProperty("properties");
        foreach (var name in new[] { "os_distro", "os_version", "hw_disk_bus", "hw_cpu_cores", "hw_cpu_sockets", "hw_cpu_threads", "hw_video_model" })
        {
            if (!schema.TryGetProperty(name, out var property))
            {
                continue;
            }
            foreach (var constraint in new[] { "enum", "pattern", "maxLength", "minimum", "maximum" })
            {
                Assert.False(property.TryGetProperty(constraint, out _), $"'{name}' publishes '{constraint}': {property}");
            }
        }
        // The seeded definitions are still there, as descriptions.
        var definitions = Expect.Status(await _api.GetAsync("/v2/property-definitions/os_distro", Persona.P1), 200).Json;
        Assert.False(definitions.GetProperty("enforced").GetBoolean());
    }
}

/// <summary>An operator's enforced definition refuses values and is published; turning it off accepts them again.</summary>
public sealed class EnforcedDefinitionTests
{
    [Fact]
    public async Task An_enforced_definition_refuses_and_publishes_its_constraint()
    {
        await using var server = new GlanceServer();
        var api = server.Client;
        // Before: the seeded os_distro describes only.
        var id = Expect.Str(await api.CreateImageAsync(Persona.P1, new { name = "enforced" }), "id");
        Expect.Status(await api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"add","path":"/os_distro","value":"talos"}]"""), 200);

        // The operator makes it a rule.
        Expect.Status(await api.PutJsonAsync("/v2/property-definitions/os_distro", Persona.Admin,
            """{"type":"string","enum":["ubuntu","debian"],"enforced":true}"""), 200);
        var refused = Expect.Error(await api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"add","path":"/os_distro","value":"talos"}]"""), 400);
        Assert.Contains("os_distro", Expect.Str(refused.Json, "message"));
        Expect.Error(await api.PostJsonAsync("/v2/images", Persona.P1, """{"os_distro":"talos"}"""), 400);
        Expect.Status(await api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"replace","path":"/os_distro","value":"debian"}]"""), 200);
        var schema = Expect.Status(await api.GetAsync("/v2/schemas/image", Persona.P1), 200).Json;
        Assert.Equal(["ubuntu", "debian"], schema.GetProperty("properties").GetProperty("os_distro").GetProperty("enum")
            .EnumerateArray().Where(v => v.ValueKind == System.Text.Json.JsonValueKind.String).Select(v => v.GetString()));

        // An operator's definition without "enforced" is a rule; with false it only describes.
        Expect.Status(await api.PutJsonAsync("/v2/property-definitions/hw_numa_nodes", Persona.Admin, """{"type":"integer","minimum":1}"""), 201);
        Expect.Error(await api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"add","path":"/hw_numa_nodes","value":"0"}]"""), 400);
        Expect.Status(await api.PutJsonAsync("/v2/property-definitions/hw_numa_nodes", Persona.Admin, """{"type":"integer","minimum":1,"enforced":false}"""), 200);
        Expect.Status(await api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"add","path":"/hw_numa_nodes","value":"0"}]"""), 200);
        Expect.Status(await api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"add","path":"/hw_numa_nodes","value":"many"}]"""), 200);
        Assert.Equal("many", Expect.Str(await api.ShowImageAsync(id, Persona.P1), "hw_numa_nodes"));
    }
}
