using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>Calls clients and deployment tools make that must answer as Glance does (issue 9, item 3).</summary>
[Collection(ApiCollection.Name)]
public sealed class DropInTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    [Fact]
    public async Task Healthcheck_answers_OK_without_identity()
    {
        var response = await _api.SendAsync(HttpMethod.Get, "/healthcheck", null, headers: new Dictionary<string, string> { ["X-Identity-Status"] = "Invalid" });
        Expect.Status(response, 200);
        Assert.Equal("OK", response.Text);
        Assert.Equal("text/plain", response.MediaType);
        Expect.Status(await _api.SendAsync(HttpMethod.Head, "/healthcheck", null), 200);
    }

    [Theory]
    [InlineData("add", "/locations/-", "add")]
    [InlineData("add", "/locations/0", "add")]
    [InlineData("replace", "/locations", "update")]
    [InlineData("remove", "/locations/0", "remove")]
    public async Task Changing_locations_is_403_with_Glances_message(string op, string path, string verb)
    {
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { name = "locations" }), "id");
        var value = op == "remove" ? "" : op == "replace" ? ""","value":[]""" : ""","value":{"url":"http://127.0.0.1:9/x","metadata":{}}""";
        var body = $$"""[{"op":"{{op}}","path":"{{path}}"{{value}}}]""";
        var refused = Expect.Error(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, body), 403);
        Assert.Equal($"It's not allowed to {verb} locations if locations are invisible.", Expect.Str(refused.Json, "message"));
        // Nothing else of the patch is applied.
        Assert.Equal("locations", Expect.Str(await _api.ShowImageAsync(id, Persona.P1), "name"));
    }
}
