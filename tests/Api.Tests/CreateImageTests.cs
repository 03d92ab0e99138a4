using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>POST /v2/images (spec sections 1.2 and 2; peer README "Status codes").</summary>
[Collection(ApiCollection.Name)]
public sealed class CreateImageTests(ApiFixture fixture)
{
    private const string TimestampPattern = @"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$";

    private static readonly string[] BaseAttributes =
    [
        "name", "disk_format", "container_format", "visibility", "size", "virtual_size", "status", "checksum",
        "protected", "min_ram", "min_disk", "owner", "os_hidden", "os_hash_algo", "os_hash_value", "id",
        "created_at", "updated_at", "tags", "self", "file", "schema",
    ];

    private readonly GlanceClient _api = fixture.Client;

    [Fact]
    public async Task Create_answers_201_with_an_absolute_location_and_the_full_image()
    {
        var response = await _api.PostJsonAsync("/v2/images", Persona.P1, "{}");

        Expect.Status(response, 201);
        Assert.Equal("application/json", response.MediaType);
        Expect.RequestId(response);
        var image = response.Json;
        var id = Expect.Str(image, "id");
        Assert.True(Guid.TryParse(id, out _), id);
        var origin = fixture.Factory.BaseAddress.GetLeftPart(UriPartial.Authority);
        Assert.Equal($"{origin}/v2/images/{id}", response.Header("Location"));
        Assert.True(response.Message.Headers.Location?.IsAbsoluteUri, "Location must be absolute");

        // Every base attribute, in Glance's order.
        Assert.Equal(BaseAttributes, image.EnumerateObject().Select(p => p.Name));
        foreach (var nullAttribute in new[] { "name", "disk_format", "container_format", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value" })
        {
            Assert.Equal(JsonValueKind.Null, image.GetProperty(nullAttribute).ValueKind);
        }
        Assert.Equal("queued", Expect.Str(image, "status"));
        Assert.Equal("shared", Expect.Str(image, "visibility"));
        Assert.False(image.GetProperty("protected").GetBoolean());
        Assert.False(image.GetProperty("os_hidden").GetBoolean());
        Assert.Equal(0, image.GetProperty("min_ram").GetInt64());
        Assert.Equal(0, image.GetProperty("min_disk").GetInt64());
        Assert.Equal("p1", Expect.Str(image, "owner"));
        Assert.Empty(image.GetProperty("tags").EnumerateArray());
        Assert.Equal($"/v2/images/{id}", Expect.Str(image, "self"));
        Assert.Equal($"/v2/images/{id}/file", Expect.Str(image, "file"));
        Assert.Equal("/v2/schemas/image", Expect.Str(image, "schema"));
        var created = Expect.Str(image, "created_at");
        Assert.Matches(TimestampPattern, created);
        Assert.Equal(created, Expect.Str(image, "updated_at"));
        var when = DateTimeOffset.Parse(created, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(when, DateTimeOffset.UtcNow.AddMinutes(-2), DateTimeOffset.UtcNow.AddMinutes(1));

        // GET returns the same document.
        var shown = Expect.Status(await _api.GetAsync($"/v2/images/{id}", Persona.P1), 200);
        Assert.Equal(response.Text, shown.Text);
    }

    [Fact]
    public async Task Create_stores_attributes_and_flattens_custom_properties_before_base_attributes()
    {
        var id = Guid.NewGuid().ToString();
        var name = GlanceClient.Unique("cirros");
        var body = new Dictionary<string, object?>
        {
            ["id"] = id, ["name"] = name, ["container_format"] = "bare", ["disk_format"] = "qcow2",
            ["visibility"] = "private", ["protected"] = true, ["min_disk"] = 2, ["min_ram"] = 512,
            ["tags"] = new[] { "b", "a", "b" }, ["hw_disk_bus"] = "scsi", ["os_distro"] = "cirros",
        };

        var image = await _api.CreateImageAsync(Persona.P1, body);

        Assert.Equal(id, Expect.Str(image, "id"));
        Assert.Equal(name, Expect.Str(image, "name"));
        Assert.Equal("bare", Expect.Str(image, "container_format"));
        Assert.Equal("qcow2", Expect.Str(image, "disk_format"));
        Assert.Equal("private", Expect.Str(image, "visibility"));
        Assert.True(image.GetProperty("protected").GetBoolean());
        Assert.Equal(2, image.GetProperty("min_disk").GetInt64());
        Assert.Equal(512, image.GetProperty("min_ram").GetInt64());
        Assert.Equal(["a", "b"], Expect.Tags(image));
        Assert.Equal("scsi", Expect.Str(image, "hw_disk_bus"));
        Assert.Equal("cirros", Expect.Str(image, "os_distro"));
        Assert.False(image.TryGetProperty("properties", out _), "custom properties must be flattened");
        var names = image.EnumerateObject().Select(p => p.Name).ToList();
        Assert.True(names.IndexOf("hw_disk_bus") < names.IndexOf("name"), string.Join(",", names));
        Assert.True(names.IndexOf("os_distro") < names.IndexOf("name"), string.Join(",", names));

        var shown = await _api.ShowImageAsync(id, Persona.P1);
        Assert.Equal(JsonSerializer.Serialize(image), JsonSerializer.Serialize(shown));
    }

    [Fact]
    public async Task Create_accepts_any_or_no_content_type()
    {
        var name = GlanceClient.Unique("ctype");
        var json = GlanceClient.Json(new { name });

        var none = await _api.SendAsync(HttpMethod.Post, "/v2/images", Persona.P1, GlanceClient.Body(json, null));
        var text = await _api.SendAsync(HttpMethod.Post, "/v2/images", Persona.P1, GlanceClient.Body(json, "text/plain"));

        Assert.Null(GlanceClient.Body(json, null).Headers.ContentType);
        Assert.Equal(name, Expect.Str(Expect.Status(none, 201).Json, "name"));
        Assert.Equal(name, Expect.Str(Expect.Status(text, 201).Json, "name"));
    }

    [Fact]
    public async Task Create_without_a_body_is_400()
    {
        Expect.Error(await _api.SendAsync(HttpMethod.Post, "/v2/images", Persona.P1), 400);
        Expect.Error(await _api.SendAsync(HttpMethod.Post, "/v2/images", Persona.P1, GlanceClient.Body("", "application/json")), 400);
    }

    [Theory]
    [InlineData("{\"name\": ")]
    [InlineData("{name: 'x'}")]
    [InlineData("not json")]
    public async Task Malformed_json_is_400(string body)
    {
        Expect.Error(await _api.PostJsonAsync("/v2/images", Persona.P1, body), 400);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"name\"")]
    [InlineData("42")]
    public async Task A_body_that_is_not_an_object_is_400(string body)
    {
        Expect.Error(await _api.PostJsonAsync("/v2/images", Persona.P1, body), 400);
    }

    [Theory]
    [InlineData("status", "\"active\"")]
    [InlineData("size", "1")]
    [InlineData("checksum", "\"abc\"")]
    [InlineData("created_at", "\"2020-01-01T00:00:00Z\"")]
    [InlineData("self", "\"/x\"")]
    [InlineData("locations", "[]")]
    [InlineData("location", "\"http://x\"")]
    [InlineData("deleted", "false")]
    [InlineData("os_glance_x", "\"y\"")]
    [InlineData("os_glance_import_task", "\"t\"")]
    public async Task Read_only_and_reserved_attributes_are_403(string attribute, string valueJson)
    {
        var name = GlanceClient.Unique("ro");

        var response = await _api.PostJsonAsync("/v2/images", Persona.P1, $"{{\"name\":\"{name}\",\"{attribute}\":{valueJson}}}");

        Expect.Error(response, 403);
        Assert.Empty(await _api.ListIdsAsync(Persona.P1, $"name={name}"));
    }

    [Theory]
    [InlineData("{\"disk_format\":\"floppy\"}")]
    [InlineData("{\"container_format\":\"box\"}")]
    [InlineData("{\"visibility\":\"everyone\"}")]
    [InlineData("{\"protected\":\"yes\"}")]
    [InlineData("{\"min_ram\":-1}")]
    [InlineData("{\"min_disk\":\"1\"}")]
    [InlineData("{\"tags\":\"a\"}")]
    [InlineData("{\"hw_disk_bus\":1}")]
    [InlineData("{\"kernel_id\":\"not-a-uuid\"}")]
    public async Task Schema_violations_are_400(string body)
    {
        Expect.Error(await _api.PostJsonAsync("/v2/images", Persona.P1, body), 400);
    }

    [Fact]
    public async Task A_name_longer_than_255_characters_is_400()
    {
        Expect.Error(await _api.PostJsonAsync("/v2/images", Persona.P1, GlanceClient.Json(new { name = new string('n', 256) })), 400);
        Expect.Status(await _api.PostJsonAsync("/v2/images", Persona.P1, GlanceClient.Json(new { name = new string('n', 255) })), 201);
    }

    [Fact]
    public async Task Duplicate_id_is_409_even_after_delete()
    {
        var id = Guid.NewGuid().ToString();
        await _api.CreateImageAsync(Persona.P1, new { id });

        Expect.Error(await _api.PostJsonAsync("/v2/images", Persona.P1, GlanceClient.Json(new { id })), 409);
        Expect.Error(await _api.PostJsonAsync("/v2/images", Persona.P2, GlanceClient.Json(new { id })), 409);

        Expect.Status(await _api.DeleteAsync($"/v2/images/{id}", Persona.P1), 204);
        Expect.Error(await _api.PostJsonAsync("/v2/images", Persona.P1, GlanceClient.Json(new { id })), 409);
    }

    [Theory]
    [InlineData("\"abc\"")]
    [InlineData("\"12345678123456781234567812345678\"")]
    [InlineData("\"{12345678-1234-5678-1234-567812345678}\"")]
    [InlineData("42")]
    [InlineData("null")]
    public async Task Invalid_id_is_400(string idJson)
    {
        Expect.Error(await _api.PostJsonAsync("/v2/images", Persona.P1, $"{{\"id\":{idJson}}}"), 400);
    }

    [Fact]
    public async Task Owner_is_settable_by_an_admin_only()
    {
        var owner = GlanceClient.Unique("owner");

        Expect.Error(await _api.PostJsonAsync("/v2/images", Persona.P1, GlanceClient.Json(new { owner })), 403);
        var image = await _api.CreateImageAsync(Persona.Admin, new { owner });

        Assert.Equal(owner, Expect.Str(image, "owner"));
    }

    [Fact]
    public async Task Public_visibility_is_admin_only_community_is_not()
    {
        Expect.Error(await _api.PostJsonAsync("/v2/images", Persona.P1, GlanceClient.Json(new { visibility = "public" })), 403);

        Assert.Equal("community", Expect.Str(await _api.CreateImageAsync(Persona.P1, new { visibility = "community" }), "visibility"));
        Assert.Equal("public", Expect.Str(await _api.CreateImageAsync(Persona.Admin, new { visibility = "public" }), "visibility"));
    }
}
