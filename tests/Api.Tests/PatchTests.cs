using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>PATCH /v2/images/{id} (spec section 7).</summary>
[Collection(ApiCollection.Name)]
public sealed class PatchTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    private async Task<string> NewImageAsync(object? attributes = null) =>
        Expect.Str(await _api.CreateImageAsync(Persona.P1, attributes ?? new { name = "before", extra = "x" }), "id");

    [Fact]
    public async Task V21_patch_applies_replace_add_and_remove()
    {
        var id = await NewImageAsync();

        var response = await _api.PatchAsync($"/v2/images/{id}", Persona.P1, """
            [{"op":"replace","path":"/name","value":"Fedora 17"},
             {"op":"replace","path":"/tags","value":["fedora","beefy"]},
             {"op":"add","path":"/hw_disk_bus","value":"scsi"},
             {"op":"remove","path":"/extra"},
             {"op":"replace","path":"/min_ram","value":1024}]
            """);

        var image = Expect.Status(response, 200).Json;
        Assert.Equal("Fedora 17", Expect.Str(image, "name"));
        Assert.Equal(["beefy", "fedora"], Expect.Tags(image));
        Assert.Equal("scsi", Expect.Str(image, "hw_disk_bus"));
        Assert.False(image.TryGetProperty("extra", out _));
        Assert.Equal(1024, image.GetProperty("min_ram").GetInt64());
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", Expect.Str(image, "updated_at"));
        Assert.Equal(JsonSerializer.Serialize(image), JsonSerializer.Serialize(await _api.ShowImageAsync(id, Persona.P1)));
    }

    [Fact]
    public async Task V20_dialect_is_accepted()
    {
        var id = await NewImageAsync();

        var response = await _api.PatchAsync($"/v2/images/{id}", Persona.P1, """
            [{"replace":"/name","value":"renamed"},{"add":"/os_distro","value":"fedora"},{"remove":"/extra"}]
            """, GlanceClient.PatchV20);

        var image = Expect.Status(response, 200).Json;
        Assert.Equal("renamed", Expect.Str(image, "name"));
        Assert.Equal("fedora", Expect.Str(image, "os_distro"));
        Assert.False(image.TryGetProperty("extra", out _));
    }

    [Fact]
    public async Task Media_type_parameters_are_ignored()
    {
        var id = await NewImageAsync();
        var content = GlanceClient.Body("""[{"op":"replace","path":"/name","value":"charset"}]""", null);
        content.Headers.TryAddWithoutValidation("Content-Type", GlanceClient.PatchV21 + "; charset=UTF-8");

        var response = await _api.SendAsync(HttpMethod.Patch, $"/v2/images/{id}", Persona.P1, content);

        Assert.Equal("charset", Expect.Str(Expect.Status(response, 200).Json, "name"));
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("text/plain")]
    [InlineData(null)]
    public async Task Other_media_types_are_415_with_accept_patch(string? mediaType)
    {
        var id = await NewImageAsync();

        var response = await _api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"replace","path":"/name","value":"no"}]""", mediaType);

        Expect.Error(response, 415);
        var acceptPatch = response.Header("Accept-Patch");
        Assert.NotNull(acceptPatch);
        Assert.Contains(GlanceClient.PatchV20, acceptPatch);
        Assert.Contains(GlanceClient.PatchV21, acceptPatch);
        Assert.Equal("before", Expect.Str(await _api.ShowImageAsync(id, Persona.P1), "name"));
    }

    [Fact]
    public async Task V21_add_is_an_upsert_but_v20_add_of_an_existing_property_is_409()
    {
        var id = await NewImageAsync();

        Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"add","path":"/extra","value":"y"}]"""), 200);
        Expect.Error(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"add":"/extra","value":"z"}]""", GlanceClient.PatchV20), 409);

        Assert.Equal("y", Expect.Str(await _api.ShowImageAsync(id, Persona.P1), "extra"));
    }

    [Theory]
    [InlineData("""[{"op":"replace","path":"/missing","value":"v"}]""", 409)]
    [InlineData("""[{"op":"remove","path":"/missing"}]""", 409)]
    [InlineData("""[{"op":"replace","path":"/status","value":"active"}]""", 403)]
    [InlineData("""[{"op":"replace","path":"/id","value":"5a1b5e2d-8a7c-4f6e-9d3b-2c1a0f9e8d7c"}]""", 403)]
    [InlineData("""[{"op":"replace","path":"/size","value":1}]""", 403)]
    [InlineData("""[{"op":"add","path":"/os_glance_foo","value":"x"}]""", 403)]
    [InlineData("""[{"op":"add","path":"/deleted_at","value":"x"}]""", 403)]
    [InlineData("""[{"op":"remove","path":"/name"}]""", 403)]
    [InlineData("""[{"op":"remove","path":"/tags"}]""", 403)]
    [InlineData("""[{"op":"replace","path":"/owner","value":"p2"}]""", 403)]
    [InlineData("""[{"op":"replace","path":"/visibility","value":"public"}]""", 403)]
    [InlineData("""[{"op":"move","path":"/name","value":"x"}]""", 400)]
    [InlineData("""[{"op":"test","path":"/name","value":"x"}]""", 400)]
    [InlineData("""[{"path":"/name","value":"x"}]""", 400)]
    [InlineData("""[{"op":"replace","path":"/tags/0","value":"x"}]""", 400)]
    [InlineData("""[{"op":"replace","path":"name","value":"x"}]""", 400)]
    [InlineData("""[{"op":"replace","path":"/name/","value":"x"}]""", 400)]
    [InlineData("""[{"op":"replace","path":"/a~2b","value":"x"}]""", 400)]
    [InlineData("""[{"op":"replace","path":"/name"}]""", 400)]
    [InlineData("""[{"op":"replace","path":"/min_ram","value":"x"}]""", 400)]
    [InlineData("""[{"op":"replace","path":"/min_disk","value":-1}]""", 400)]
    [InlineData("""[{"op":"replace","path":"/visibility","value":"everyone"}]""", 400)]
    [InlineData("""[{"op":"replace","path":"/disk_format","value":"floppy"}]""", 400)]
    [InlineData("""[{"op":"add","path":"/extra2","value":5}]""", 400)]
    [InlineData("""{"op":"replace","path":"/name","value":"x"}""", 400)]
    [InlineData("""["replace"]""", 400)]
    [InlineData("""[{"op":"replace","path":"/name","value":""" , 400)]
    public async Task Invalid_patches_are_refused_and_change_nothing(string body, int status)
    {
        var id = await NewImageAsync();
        var before = await _api.ShowImageAsync(id, Persona.P1);

        Expect.Error(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, body), status);

        Assert.Equal(JsonSerializer.Serialize(before), JsonSerializer.Serialize(await _api.ShowImageAsync(id, Persona.P1)));
    }

    [Fact]
    public async Task A_patch_is_atomic_a_late_failure_undoes_the_earlier_operations()
    {
        var id = await NewImageAsync();
        var before = await _api.ShowImageAsync(id, Persona.P1);

        var response = await _api.PatchAsync($"/v2/images/{id}", Persona.P1, """
            [{"op":"replace","path":"/name","value":"changed"},
             {"op":"add","path":"/new_prop","value":"v"},
             {"op":"replace","path":"/min_ram","value":"x"}]
            """);

        Expect.Error(response, 400);
        var after = await _api.ShowImageAsync(id, Persona.P1);
        Assert.Equal("before", Expect.Str(after, "name"));
        Assert.False(after.TryGetProperty("new_prop", out _));
        Assert.Equal(JsonSerializer.Serialize(before), JsonSerializer.Serialize(after));
    }

    [Fact]
    public async Task Pointer_escapes_are_decoded()
    {
        var id = await NewImageAsync();

        var image = Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1,
            """[{"op":"add","path":"/a~1b~0c","value":"v"}]"""), 200).Json;

        Assert.Equal("v", Expect.Str(image, "a/b~c"));
    }

    [Fact]
    public async Task Disk_and_container_format_are_writable_while_queued()
    {
        var id = await NewImageAsync();

        var image = Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1,
            """[{"op":"replace","path":"/disk_format","value":"raw"},{"op":"replace","path":"/container_format","value":"bare"}]"""), 200).Json;

        Assert.Equal("raw", Expect.Str(image, "disk_format"));
        Assert.Equal("bare", Expect.Str(image, "container_format"));
    }

    [Fact]
    public async Task Patch_of_a_missing_image_is_404_and_of_a_visible_foreign_one_403()
    {
        var community = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { visibility = "community" }), "id");
        var hidden = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { visibility = "private" }), "id");
        const string body = """[{"op":"replace","path":"/name","value":"x"}]""";

        Expect.Error(await _api.PatchAsync($"/v2/images/{Guid.NewGuid()}", Persona.P1, body), 404);
        Expect.Error(await _api.PatchAsync("/v2/images/abc", Persona.P1, body), 404);
        Expect.Error(await _api.PatchAsync($"/v2/images/{hidden}", Persona.P2, body), 404);
        Expect.Error(await _api.PatchAsync($"/v2/images/{community}", Persona.P2, body), 403);
        Expect.Status(await _api.PatchAsync($"/v2/images/{community}", Persona.Admin, body), 200);
    }

    [Fact]
    public async Task Admin_may_change_the_owner()
    {
        var id = await NewImageAsync(new { visibility = "private" });
        var owner = GlanceClient.Unique("new-owner");

        var image = Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.Admin,
            $$"""[{"op":"replace","path":"/owner","value":"{{owner}}"}]"""), 200).Json;

        Assert.Equal(owner, Expect.Str(image, "owner"));
        Expect.Error(await _api.GetAsync($"/v2/images/{id}", Persona.P1), 404);
        Expect.Status(await _api.GetAsync($"/v2/images/{id}", new Persona(owner, "member", "u")), 200);
    }
}
