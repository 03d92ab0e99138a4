using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>GET/DELETE /v2/images/{id}, methods, tags and actions (spec sections 0, 1.2, 3).</summary>
[Collection(ApiCollection.Name)]
public sealed class ImageResourceTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    [Fact]
    public async Task Get_of_a_missing_image_is_404()
    {
        Expect.Error(await _api.GetAsync($"/v2/images/{Guid.NewGuid()}", Persona.P1), 404);
        Expect.Error(await _api.GetAsync($"/v2/images/{Guid.NewGuid()}", Persona.Admin), 404);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("12345")]
    [InlineData("not-a-uuid-at-all")]
    public async Task Get_of_a_non_uuid_id_is_404(string id)
    {
        Expect.Error(await _api.GetAsync($"/v2/images/{id}", Persona.P1), 404);
        Expect.Error(await _api.DeleteAsync($"/v2/images/{id}", Persona.P1), 404);
    }

    [Fact]
    public async Task Get_and_delete_of_an_empty_id_are_404()
    {
        Expect.Error(await _api.GetAsync("/v2/images/", Persona.P1), 404);
        Expect.Error(await _api.DeleteAsync("/v2/images/", Persona.P1), 404);
    }

    [Theory]
    [InlineData("HEAD")]
    [InlineData("POST")]
    [InlineData("PUT")]
    public async Task Other_methods_on_an_image_are_405_with_allow(string method)
    {
        var image = await _api.CreateImageAsync(Persona.P1);
        var id = Expect.Str(image, "id");

        var response = await _api.SendAsync(new HttpMethod(method), $"/v2/images/{id}", Persona.P1,
            method == "HEAD" ? null : GlanceClient.Body("{}", "application/json"));

        Expect.Status(response, 405);
        Expect.RequestId(response);
        var allow = (response.Header("Allow") ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["DELETE", "GET", "PATCH"], allow.Order(StringComparer.Ordinal));
        if (method != "HEAD")
        {
            Expect.Error(response, 405);
        }
        // Nothing changed.
        Assert.Equal(image.ToString(), (await _api.ShowImageAsync(id, Persona.P1)).ToString());
    }

    [Fact]
    public async Task Unknown_sub_resources_and_actions_are_404()
    {
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1), "id");

        Expect.Error(await _api.SendAsync(HttpMethod.Post, $"/v2/images/{id}/actions/explode", Persona.P1), 404);
        Expect.Error(await _api.GetAsync($"/v2/images/{id}/nothing", Persona.P1), 404);
    }

    [Fact]
    public async Task A_body_on_get_or_delete_is_400()
    {
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1), "id");

        Expect.Error(await _api.SendAsync(HttpMethod.Get, $"/v2/images/{id}", Persona.P1, GlanceClient.Body("{}", "application/json")), 400);
        Expect.Error(await _api.SendAsync(HttpMethod.Get, "/v2/images", Persona.P1, GlanceClient.Body("{}", "application/json")), 400);
        Expect.Error(await _api.SendAsync(HttpMethod.Delete, $"/v2/images/{id}", Persona.P1, GlanceClient.Body("{}", "application/json")), 400);

        // The refused DELETE did not delete.
        await _api.ShowImageAsync(id, Persona.P1);
    }

    [Fact]
    public async Task Delete_of_a_protected_image_is_403_then_204_once_unprotected_then_404()
    {
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { @protected = true }), "id");

        Expect.Error(await _api.DeleteAsync($"/v2/images/{id}", Persona.P1), 403);
        Expect.Error(await _api.DeleteAsync($"/v2/images/{id}", Persona.Admin), 403);
        await _api.ShowImageAsync(id, Persona.P1);

        Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, "[{\"op\":\"replace\",\"path\":\"/protected\",\"value\":false}]"), 200);
        var deleted = Expect.Status(await _api.DeleteAsync($"/v2/images/{id}", Persona.P1), 204);
        Assert.Empty(deleted.Text);
        Expect.RequestId(deleted);

        Expect.Error(await _api.DeleteAsync($"/v2/images/{id}", Persona.P1), 404);
        Expect.Error(await _api.GetAsync($"/v2/images/{id}", Persona.P1), 404);
        Expect.Error(await _api.GetAsync($"/v2/images/{id}", Persona.Admin), 404);
        Assert.DoesNotContain(id, await _api.ListIdsAsync(Persona.P1, $"id={id}"));
    }

    [Fact]
    public async Task Delete_by_another_project_is_404_when_invisible_and_403_when_visible()
    {
        var privateId = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { visibility = "private" }), "id");
        var communityId = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { visibility = "community" }), "id");

        Expect.Error(await _api.DeleteAsync($"/v2/images/{privateId}", Persona.P2), 404);
        Expect.Error(await _api.DeleteAsync($"/v2/images/{communityId}", Persona.P2), 403);
        await _api.ShowImageAsync(privateId, Persona.P1);
        await _api.ShowImageAsync(communityId, Persona.P1);
    }

    [Fact]
    public async Task Deactivate_and_reactivate_of_a_queued_image_are_403()
    {
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1), "id");

        Expect.Error(await _api.SendAsync(HttpMethod.Post, $"/v2/images/{id}/actions/deactivate", Persona.P1), 403);
        Expect.Error(await _api.SendAsync(HttpMethod.Post, $"/v2/images/{id}/actions/reactivate", Persona.P1), 403);
        Assert.Equal("queued", Expect.Str(await _api.ShowImageAsync(id, Persona.P1), "status"));
    }

    [Fact]
    public async Task Deactivate_of_a_missing_image_is_404()
    {
        Expect.Error(await _api.SendAsync(HttpMethod.Post, $"/v2/images/{Guid.NewGuid()}/actions/deactivate", Persona.P1), 404);
    }

    [Fact]
    public async Task Tag_put_is_idempotent_and_delete_removes_it()
    {
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { tags = new[] { "keep" } }), "id");

        var first = Expect.Status(await _api.PutAsync($"/v2/images/{id}/tags/blue", Persona.P1), 204);
        Assert.Empty(first.Text);
        Expect.Status(await _api.PutAsync($"/v2/images/{id}/tags/blue", Persona.P1), 204);
        Assert.Equal(["blue", "keep"], Expect.Tags(await _api.ShowImageAsync(id, Persona.P1)));

        Expect.Status(await _api.DeleteAsync($"/v2/images/{id}/tags/blue", Persona.P1), 204);
        Assert.Equal(["keep"], Expect.Tags(await _api.ShowImageAsync(id, Persona.P1)));
    }

    [Fact]
    public async Task Deleting_a_tag_the_image_does_not_carry_is_404()
    {
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { tags = new[] { "keep" } }), "id");

        Expect.Error(await _api.DeleteAsync($"/v2/images/{id}/tags/absent", Persona.P1), 404);
        Assert.Equal(["keep"], Expect.Tags(await _api.ShowImageAsync(id, Persona.P1)));
    }

    [Fact]
    public async Task Tags_on_a_missing_image_are_404()
    {
        Expect.Error(await _api.PutAsync($"/v2/images/{Guid.NewGuid()}/tags/x", Persona.P1), 404);
        Expect.Error(await _api.DeleteAsync($"/v2/images/{Guid.NewGuid()}/tags/x", Persona.P1), 404);
        Expect.Error(await _api.PutAsync("/v2/images/abc/tags/x", Persona.P1), 404);
    }

    [Fact]
    public async Task Tags_of_another_projects_visible_image_are_403()
    {
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { visibility = "community" }), "id");

        Expect.Error(await _api.PutAsync($"/v2/images/{id}/tags/x", Persona.P2), 403);
        Assert.Empty(Expect.Tags(await _api.ShowImageAsync(id, Persona.P1)));
    }

    [Fact]
    public async Task A_tag_longer_than_255_characters_is_400()
    {
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1), "id");

        Expect.Error(await _api.PutAsync($"/v2/images/{id}/tags/{new string('t', 256)}", Persona.P1), 400);
        Expect.Status(await _api.PutAsync($"/v2/images/{id}/tags/{new string('t', 255)}", Persona.P1), 204);
    }

    [Fact]
    public async Task A_body_on_a_tag_put_is_400()
    {
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1), "id");

        Expect.Error(await _api.SendAsync(HttpMethod.Put, $"/v2/images/{id}/tags/x", Persona.P1, GlanceClient.Body("{}", "application/json")), 400);
        Assert.Empty(Expect.Tags(await _api.ShowImageAsync(id, Persona.P1)));
    }
}
