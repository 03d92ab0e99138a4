using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary><c>/v2/images/{id}/properties</c>: typed properties one at a time, and their view on the image (issue 4, items 2, 4, 6).</summary>
[Collection(ApiCollection.Name)]
public sealed class ImagePropertiesTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    /// <summary>A public image owned by P1 (created by the admin).</summary>
    private async Task<string> PublicImageAsync()
    {
        var image = await _api.CreateImageAsync(Persona.Admin, new { name = GlanceClient.Unique(), owner = Persona.P1.Project, visibility = "public" });
        return Expect.Str(image, "id");
    }

    [Fact]
    public async Task Put_creates_201_then_replaces_200_with_an_etag_and_get_shows_all_attributes()
    {
        var id = await PublicImageAsync();
        var path = $"/v2/images/{id}/properties/cores";

        var created = Expect.Status(await _api.PutJsonAsync(path, Persona.P1,
            """{"value": 4, "description": "vCPUs", "protected": true}"""), 201);
        Assert.EndsWith(path, created.Header("Location"));
        var etag = created.Header("ETag");
        Assert.NotNull(etag);
        Assert.StartsWith("\"", etag);
        var json = created.Json;
        Assert.Equal(JsonValueKind.Number, json.GetProperty("value").ValueKind);
        Assert.Equal(4, json.GetProperty("value").GetInt32());
        Assert.Equal("integer", Expect.Str(json, "type"));
        Assert.Equal(Persona.P1.Project, Expect.Str(json, "owner"));
        Assert.Equal("public", Expect.Str(json, "visibility"));
        Assert.True(json.GetProperty("protected").GetBoolean());
        Assert.Equal("vCPUs", Expect.Str(json, "description"));
        Expect.Str(json, "created_at");
        Expect.Str(json, "updated_at");

        var shown = Expect.Status(await _api.GetAsync(path, Persona.P2), 200);
        Assert.Equal(etag, shown.Header("ETag"));

        var replaced = Expect.Status(await SendWithIfMatch(HttpMethod.Put, path, etag, """{"value": 8}"""), 200);
        Assert.Equal(8, replaced.Json.GetProperty("value").GetInt32());
        Assert.NotEqual(etag, replaced.Header("ETag"));

        // The v2 image view shows it flattened, as a string.
        Assert.Equal("8", Expect.Str(await _api.ShowImageAsync(id, Persona.P2), "cores"));
        var list = Expect.Status(await _api.GetAsync($"/v2/images/{id}/properties", Persona.P1), 200).Json;
        var only = Assert.Single(list.GetProperty("properties").EnumerateArray());
        Assert.Equal("cores", Expect.Str(only, "name"));
    }

    [Fact]
    public async Task If_match_on_a_stale_etag_is_412_and_delete_is_204()
    {
        var id = await PublicImageAsync();
        var path = $"/v2/images/{id}/properties/color";
        var first = Expect.Status(await _api.PutJsonAsync(path, Persona.P1, """{"value": "red"}"""), 201).Header("ETag")!;
        Expect.Status(await _api.PutJsonAsync(path, Persona.P1, """{"value": "green"}"""), 200);

        Expect.Error(await SendWithIfMatch(HttpMethod.Put, path, first, """{"value": "blue"}"""), 412);
        Expect.Error(await SendWithIfMatch(HttpMethod.Delete, path, first, null), 412);
        Assert.Equal("green", Expect.Str(await _api.ShowImageAsync(id, Persona.P1), "color"));

        Expect.Status(await _api.DeleteAsync(path, Persona.P1), 204);
        Expect.Error(await _api.GetAsync(path, Persona.P1), 404);
        Expect.Error(await _api.DeleteAsync(path, Persona.P1), 404);
        Assert.False((await _api.ShowImageAsync(id, Persona.P1)).TryGetProperty("color", out _));
    }

    [Fact]
    public async Task Bad_bodies_and_mistyped_values_are_400_naming_property_type_and_value()
    {
        var id = await PublicImageAsync();
        var path = $"/v2/images/{id}/properties/size_gb";

        var error = Expect.Error(await _api.PutJsonAsync(path, Persona.P1, """{"value": "big", "type": "integer"}"""), 400);
        Assert.Contains("'size_gb' is of type 'integer' and does not accept the value \"big\"", Expect.Str(error.Json, "message"));
        Expect.Error(await _api.PutJsonAsync(path, Persona.P1, """{"type": "integer"}"""), 400);
        Expect.Error(await _api.PutJsonAsync(path, Persona.P1, """{"value": 1, "visibility": "everyone"}"""), 400);
        Expect.Error(await _api.PutJsonAsync(path, Persona.P1, """{"value": 1, "protected": "yes"}"""), 400);
        Expect.Error(await _api.PutJsonAsync(path, Persona.P1, """{"value": 1, "colour": 1}"""), 400);
        Expect.Error(await _api.PutJsonAsync(path, Persona.P1, """[1]"""), 400);
        Expect.Error(await _api.PutJsonAsync($"/v2/images/{id}/properties/min_ram", Persona.P1, """{"value": 1}"""), 400);
        // Enforced definitions apply (the seeded hw_disk_bus only describes: any string goes).
        var bus = $"bus_{Guid.NewGuid():N}";
        Expect.Status(await _api.PutJsonAsync($"/v2/property-definitions/{bus}", Persona.Admin, """{"type":"string","enum":["scsi","virtio"]}"""), 201);
        Expect.Error(await _api.PutJsonAsync($"/v2/images/{id}/properties/{bus}", Persona.P1, """{"value": "floppy"}"""), 400);
        Expect.Status(await _api.PutJsonAsync($"/v2/images/{id}/properties/hw_disk_bus", Persona.P1, """{"value": "floppy"}"""), 201);
    }

    [Fact]
    public async Task Who_sees_and_changes_which_property()
    {
        var id = await PublicImageAsync();
        var root = $"/v2/images/{id}/properties";
        Expect.Status(await _api.PutJsonAsync($"{root}/pub", Persona.P1, """{"value": "a"}"""), 201);
        Expect.Status(await _api.PutJsonAsync($"{root}/priv", Persona.P1, """{"value": "b", "visibility": "private"}"""), 201);
        Expect.Status(await _api.PutJsonAsync($"{root}/adm", Persona.Admin, """{"value": "c", "visibility": "admin"}"""), 201);
        Expect.Error(await _api.PutJsonAsync($"{root}/adm2", Persona.P1, """{"value": "c", "visibility": "admin"}"""), 403);
        Expect.Error(await _api.PutJsonAsync($"{root}/pub", Persona.P2, """{"value": "x"}"""), 403);

        foreach (var (persona, names) in new[] { (Persona.P1, "priv,pub"), (Persona.P2, "pub"), (Persona.Admin, "adm,priv,pub") })
        {
            var listed = Expect.Status(await _api.GetAsync(root, persona), 200).Json.GetProperty("properties")
                .EnumerateArray().Select(p => p.GetProperty("name").GetString());
            Assert.Equal(names, string.Join(",", listed));
            var image = await _api.ShowImageAsync(id, persona);
            foreach (var name in new[] { "pub", "priv", "adm" })
            {
                var visible = names.Split(',').Contains(name);
                Assert.Equal(visible, image.TryGetProperty(name, out _));
                Expect.Status(await _api.GetAsync($"{root}/{name}", persona), visible ? 200 : 404);
                var filtered = await _api.ListIdsAsync(persona, $"visibility=public&{name}={(name == "pub" ? "a" : name == "priv" ? "b" : "c")}");
                Assert.Equal(visible, filtered.Contains(id));
            }
        }
    }

    [Fact]
    public async Task Patch_lands_in_the_same_property_set()
    {
        var id = await PublicImageAsync();
        Expect.Status(await _api.PutJsonAsync($"/v2/images/{id}/properties/ratio", Persona.P1, """{"value": 1.5}"""), 201);

        var patched = Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1,
            """[{"op": "replace", "path": "/ratio", "value": "2.5"}, {"op": "add", "path": "/note", "value": "hi"}]"""), 200).Json;
        Assert.Equal("2.5", Expect.Str(patched, "ratio"));
        var ratio = Expect.Status(await _api.GetAsync($"/v2/images/{id}/properties/ratio", Persona.P1), 200).Json;
        Assert.Equal(("number", 2.5), (Expect.Str(ratio, "type"), ratio.GetProperty("value").GetDouble()));
        Assert.Equal("string", Expect.Str(Expect.Status(await _api.GetAsync($"/v2/images/{id}/properties/note", Persona.P1), 200).Json, "type"));

        Expect.Error(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op": "replace", "path": "/ratio", "value": "wide"}]"""), 400);
        Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op": "remove", "path": "/note"}]"""), 200);
        Expect.Error(await _api.GetAsync($"/v2/images/{id}/properties/note", Persona.P1), 404);
    }

    [Fact]
    public async Task An_invisible_image_has_no_properties_endpoint()
    {
        var image = await _api.CreateImageAsync(Persona.P1, new { visibility = "private", color = "red" });
        var id = Expect.Str(image, "id");
        Expect.Error(await _api.GetAsync($"/v2/images/{id}/properties", Persona.P2), 404);
        Expect.Error(await _api.GetAsync($"/v2/images/{id}/properties/color", Persona.P2), 404);
        Expect.Error(await _api.PutJsonAsync($"/v2/images/{id}/properties/color", Persona.P2, """{"value": "x"}"""), 404);
        Expect.Error(await _api.GetAsync($"/v2/images/not-a-uuid/properties", Persona.P1), 404);
        Assert.Equal("red", Expect.Str(Expect.Status(await _api.GetAsync($"/v2/images/{id}/properties/color", Persona.P1), 200).Json, "value"));
    }

    private Task<ApiResponse> SendWithIfMatch(HttpMethod method, string path, string etag, string? json) =>
        _api.SendAsync(method, path, Persona.P1, json is null ? null : GlanceClient.Body(json, "application/json"),
            new Dictionary<string, string> { ["If-Match"] = etag });
}
