using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>Version discovery, schemas, usage, request ids (spec sections 0, 1.1, 1.4, 1.5).</summary>
[Collection(ApiCollection.Name)]
public sealed class DiscoveryTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    [Fact]
    public async Task Root_answers_300_with_the_versions_document()
    {
        var response = Expect.Status(await _api.GetAsync("/", null), 300);

        AssertVersionsDocument(response);
    }

    [Fact]
    public async Task Versions_answers_200_with_the_versions_document()
    {
        var response = Expect.Status(await _api.GetAsync("/versions", null), 200);

        AssertVersionsDocument(response);
    }

    [Theory]
    [InlineData("/v1/images")]
    [InlineData("/v3/images")]
    [InlineData("/v1")]
    public async Task Unknown_version_answers_300_with_the_versions_document(string path)
    {
        var response = Expect.Status(await _api.GetAsync(path, Persona.P1), 300);

        AssertVersionsDocument(response);
    }

    [Fact]
    public async Task Minor_version_prefix_is_served_as_v2()
    {
        var name = GlanceClient.Unique("minor");
        var created = await _api.CreateImageAsync(Persona.P1, new { name });
        var id = Expect.Str(created, "id");

        var shown = Expect.Status(await _api.GetAsync($"/v2.16/images/{id}", Persona.P1), 200);
        Assert.Equal(name, Expect.Str(shown.Json, "name"));

        var listed = await _api.ListIdsAsync(Persona.P1, $"name={name}");
        var listedMinor = Expect.Status(await _api.GetAsync($"/v2.1/images?name={name}", Persona.P1), 200);
        Assert.Equal([id], listed);
        Assert.Equal([id], GlanceClient.Ids(listedMinor.Json));
    }

    [Fact]
    public async Task V2_root_is_not_found()
    {
        Expect.Error(await _api.GetAsync("/v2/", Persona.P1), 404);
        Expect.Error(await _api.GetAsync("/v2/nothing-here", Persona.P1), 404);
    }

    [Theory]
    [InlineData("image")]
    [InlineData("images")]
    [InlineData("member")]
    [InlineData("members")]
    public async Task Schemas_are_served_with_their_name(string name)
    {
        var response = Expect.Status(await _api.GetAsync($"/v2/schemas/{name}", Persona.P1), 200);

        Assert.Equal("application/json", response.MediaType);
        Assert.Equal(name, Expect.Str(response.Json, "name"));
        Assert.Equal(JsonValueKind.Object, response.Json.GetProperty("properties").ValueKind);
    }

    [Fact]
    public async Task Image_schema_describes_the_base_attributes()
    {
        var schema = Expect.Status(await _api.GetAsync("/v2/schemas/image", Persona.P1), 200).Json;

        var properties = schema.GetProperty("properties");
        foreach (var attribute in new[] { "id", "name", "status", "visibility", "protected", "os_hidden", "tags", "min_ram", "disk_format" })
        {
            Assert.True(properties.TryGetProperty(attribute, out _), $"image schema lacks '{attribute}'");
        }
        Assert.Equal("string", schema.GetProperty("additionalProperties").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Schema_with_a_body_is_a_bad_request()
    {
        var response = await _api.SendAsync(HttpMethod.Get, "/v2/schemas/image", Persona.P1, GlanceClient.Body("{}", "application/json"));

        Expect.Error(response, 400);
    }

    [Fact]
    public async Task Usage_is_empty_without_unified_limits()
    {
        var response = Expect.Status(await _api.GetAsync("/v2/info/usage", Persona.P1), 200);

        Assert.Equal("{\"usage\":{}}", JsonSerializer.Serialize(response.Json));
    }

    [Fact]
    public async Task Every_v2_response_carries_a_fresh_request_id()
    {
        var responses = new[]
        {
            await _api.GetAsync("/v2/images?limit=1", Persona.P1),
            await _api.GetAsync($"/v2/images/{Guid.NewGuid()}", Persona.P1),
            await _api.GetAsync("/v2/images?limit=abc", Persona.P1),
            await _api.SendAsync(HttpMethod.Head, $"/v2/images/{Guid.NewGuid()}", Persona.P1),
            await _api.PostJsonAsync("/v2/images", Persona.P1, "{\"status\":\"active\"}"),
            await _api.GetAsync("/v2/schemas/image", Persona.P1),
            await _api.GetAsync("/v2/images", new Persona("p1", "member", "u", Status: "Invalid")),
        };

        var ids = responses.Select(Expect.RequestId).ToList();

        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public async Task A_request_id_sent_by_the_client_is_echoed()
    {
        var sent = $"req-{Guid.NewGuid()}";
        var headers = new Dictionary<string, string> { ["X-Openstack-Request-ID"] = sent };

        var ok = await _api.SendAsync(HttpMethod.Get, "/v2/images?limit=1", Persona.P1, headers: headers);
        var missing = await _api.SendAsync(HttpMethod.Get, $"/v2/images/{Guid.NewGuid()}", Persona.P1, headers: headers);

        Assert.Equal(sent, Expect.Status(ok, 200).Header("x-openstack-request-id"));
        Assert.Equal(sent, Expect.Status(missing, 404).Header("x-openstack-request-id"));
    }

    [Fact]
    public async Task A_request_id_without_the_prefix_is_echoed_with_it()
    {
        var sent = Guid.NewGuid().ToString();
        var headers = new Dictionary<string, string> { ["X-Openstack-Request-ID"] = sent };

        var response = await _api.SendAsync(HttpMethod.Get, "/v2/images?limit=1", Persona.P1, headers: headers);

        Assert.Equal($"req-{sent}", Expect.Status(response, 200).Header("x-openstack-request-id"));
    }

    [Fact]
    public async Task A_request_id_longer_than_64_characters_is_refused_with_431()
    {
        var headers = new Dictionary<string, string> { ["X-Openstack-Request-ID"] = "req-" + new string('a', 61) };

        var response = await _api.SendAsync(HttpMethod.Get, "/v2/images?limit=1", Persona.P1, headers: headers);

        Expect.Status(response, 431);
    }

    private static void AssertVersionsDocument(ApiResponse response)
    {
        Assert.Equal("application/json", response.MediaType);
        var versions = response.Json.GetProperty("versions").EnumerateArray().ToList();
        Assert.NotEmpty(versions);
        foreach (var version in versions)
        {
            Assert.Matches(@"^v2\.\d+$", Expect.Str(version, "id"));
            Assert.Contains(Expect.Str(version, "status"), new[] { "CURRENT", "SUPPORTED" });
            var link = Assert.Single(version.GetProperty("links").EnumerateArray());
            Assert.Equal("self", Expect.Str(link, "rel"));
            Assert.Matches(@"^http://127\.0\.0\.1:\d+/v2/$", Expect.Str(link, "href"));
        }
        var current = Assert.Single(versions, v => v.GetProperty("status").GetString() == "CURRENT");
        Assert.Equal("v2.16", Expect.Str(current, "id"));
        Assert.Contains(versions, v => v.GetProperty("id").GetString() == "v2.0");
    }
}
