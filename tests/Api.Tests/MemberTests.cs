using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>Image sharing: /v2/images/{id}/members (spec sections 1.3 and 5; tempest test_images_member*).</summary>
[Collection(ApiCollection.Name)]
public sealed class MemberTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    /// <summary>A shared image of p1 carrying a unique <c>suite</c> property; returns (id, suite).</summary>
    private async Task<(string Id, string Suite)> SharedImageAsync(string visibility = "shared")
    {
        var suite = GlanceClient.Unique("members");
        var image = await _api.CreateImageAsync(Persona.P1, new { visibility, suite });
        return (Expect.Str(image, "id"), suite);
    }

    private Task<ApiResponse> AddAsync(string id, string member, Persona? caller = null) =>
        _api.PostJsonAsync($"/v2/images/{id}/members", caller ?? Persona.P1, GlanceClient.Json(new { member }));

    private Task<ApiResponse> SetStatusAsync(string id, string member, string status, Persona caller) =>
        _api.PutJsonAsync($"/v2/images/{id}/members/{member}", caller, GlanceClient.Json(new { status }));

    [Fact]
    public async Task Adding_a_member_to_a_shared_image_is_200_with_a_pending_member()
    {
        var (id, _) = await SharedImageAsync();

        var response = Expect.Status(await AddAsync(id, "p2"), 200);

        var member = response.Json;
        Assert.Equal(id, Expect.Str(member, "image_id"));
        Assert.Equal("p2", Expect.Str(member, "member_id"));
        Assert.Equal("pending", Expect.Str(member, "status"));
        Assert.Equal("/v2/schemas/member", Expect.Str(member, "schema"));
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", Expect.Str(member, "created_at"));
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", Expect.Str(member, "updated_at"));
        Expect.RequestId(response);

        var listed = Expect.Status(await _api.GetAsync($"/v2/images/{id}/members", Persona.P1), 200).Json;
        Assert.Equal("/v2/schemas/members", Expect.Str(listed, "schema"));
        var only = Assert.Single(listed.GetProperty("members").EnumerateArray());
        Assert.Equal(member.ToString(), only.ToString());
        Assert.Equal(member.ToString(), Expect.Status(await _api.GetAsync($"/v2/images/{id}/members/p2", Persona.P1), 200).Json.ToString());
    }

    [Fact]
    public async Task A_duplicate_member_is_409()
    {
        var (id, _) = await SharedImageAsync();
        Expect.Status(await AddAsync(id, "p2"), 200);

        Expect.Error(await AddAsync(id, "p2"), 409);
    }

    [Theory]
    [InlineData("private")]
    [InlineData("community")]
    public async Task A_member_on_an_image_that_is_not_shared_is_403(string visibility)
    {
        var (id, _) = await SharedImageAsync(visibility);

        Expect.Error(await AddAsync(id, "p2"), 403);
        Expect.Error(await _api.GetAsync($"/v2/images/{id}/members", Persona.P1), 403);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"member\":\"\"}")]
    [InlineData("{\"member\":5}")]
    [InlineData("[]")]
    public async Task A_missing_or_empty_member_is_400(string body)
    {
        var (id, _) = await SharedImageAsync();

        Expect.Error(await _api.PostJsonAsync($"/v2/images/{id}/members", Persona.P1, body), 400);
    }

    [Fact]
    public async Task Only_the_owner_adds_members_and_an_invisible_image_is_404()
    {
        var (id, _) = await SharedImageAsync();
        Expect.Status(await AddAsync(id, "p2"), 200);

        // p2 can see the image (it is a member) but may not share it on.
        Expect.Error(await AddAsync(id, "p3", Persona.P2), 403);
        // p3 cannot see it at all.
        Expect.Error(await AddAsync(id, "p4", new Persona("p3", "member", "u3")), 404);
        Expect.Error(await AddAsync(Guid.NewGuid().ToString(), "p2"), 404);
    }

    [Fact]
    public async Task The_member_accepts_200_but_the_owner_cannot_403()
    {
        var (id, _) = await SharedImageAsync();
        Expect.Status(await AddAsync(id, "p2"), 200);

        Expect.Error(await SetStatusAsync(id, "p2", "accepted", Persona.P1), 403);
        var accepted = Expect.Status(await SetStatusAsync(id, "p2", "accepted", Persona.P2), 200).Json;

        Assert.Equal("accepted", Expect.Str(accepted, "status"));
        Assert.Equal("p2", Expect.Str(accepted, "member_id"));
        var shown = Expect.Status(await _api.GetAsync($"/v2/images/{id}/members/p2", Persona.P2), 200).Json;
        Assert.Equal("accepted", Expect.Str(shown, "status"));
    }

    [Theory]
    [InlineData("{\"status\":\"notavalidstatus\"}")]
    [InlineData("{\"status\":\"ACCEPTED\"}")]
    [InlineData("{}")]
    [InlineData("{\"status\":1}")]
    public async Task A_bad_member_status_is_400(string body)
    {
        var (id, _) = await SharedImageAsync();
        Expect.Status(await AddAsync(id, "p2"), 200);

        Expect.Error(await _api.PutJsonAsync($"/v2/images/{id}/members/p2", Persona.P2, body), 400);

        Assert.Equal("pending", Expect.Str(Expect.Status(await _api.GetAsync($"/v2/images/{id}/members/p2", Persona.P2), 200).Json, "status"));
    }

    [Fact]
    public async Task Showing_a_member_is_404_for_every_failure()
    {
        var (id, _) = await SharedImageAsync();
        Expect.Status(await AddAsync(id, "p2"), 200);
        var (privateId, _) = await SharedImageAsync("private");

        Expect.Error(await _api.GetAsync($"/v2/images/{id}/members/nobody", Persona.P1), 404);
        Expect.Error(await _api.GetAsync($"/v2/images/{Guid.NewGuid()}/members/p2", Persona.P1), 404);
        Expect.Error(await _api.GetAsync($"/v2/images/{privateId}/members/p2", Persona.P1), 404);
        Expect.Error(await _api.GetAsync($"/v2/images/{id}/members/p2", new Persona("p3", "member", "u3")), 404);
    }

    [Fact]
    public async Task A_member_sees_only_its_own_entry()
    {
        var (id, _) = await SharedImageAsync();
        Expect.Status(await AddAsync(id, "p2"), 200);
        Expect.Status(await AddAsync(id, "p3"), 200);

        var owner = Expect.Status(await _api.GetAsync($"/v2/images/{id}/members", Persona.P1), 200).Json;
        var member = Expect.Status(await _api.GetAsync($"/v2/images/{id}/members", Persona.P2), 200).Json;

        Assert.Equal(["p2", "p3"], owner.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("member_id").GetString()).Order());
        Assert.Equal("p2", Assert.Single(member.GetProperty("members").EnumerateArray()).GetProperty("member_id").GetString());
        Expect.Error(await _api.GetAsync($"/v2/images/{id}/members/p3", Persona.P2), 404);
    }

    [Fact]
    public async Task Deleting_a_member_is_204_and_revokes_access()
    {
        var (id, _) = await SharedImageAsync();
        Expect.Status(await AddAsync(id, "p2"), 200);
        await _api.ShowImageAsync(id, Persona.P2);

        Expect.Error(await _api.DeleteAsync($"/v2/images/{id}/members/p2", Persona.P2), 403);
        var deleted = Expect.Status(await _api.DeleteAsync($"/v2/images/{id}/members/p2", Persona.P1), 204);

        Assert.Empty(deleted.Text);
        Expect.Error(await _api.GetAsync($"/v2/images/{id}", Persona.P2), 404);
        Expect.Error(await _api.DeleteAsync($"/v2/images/{id}/members/p2", Persona.P1), 404);
        var members = Expect.Status(await _api.GetAsync($"/v2/images/{id}/members", Persona.P1), 200).Json;
        Assert.Empty(members.GetProperty("members").EnumerateArray());
    }

    [Fact]
    public async Task Member_status_decides_whether_the_member_lists_the_image()
    {
        var (id, suite) = await SharedImageAsync();
        Expect.Status(await AddAsync(id, "p2"), 200);

        // Pending: visible by id, not in the default list, listed when asking for pending shared images.
        await _api.ShowImageAsync(id, Persona.P2);
        Assert.Empty(await _api.ListIdsAsync(Persona.P2, $"suite={suite}"));
        Assert.Equal([id], await _api.ListIdsAsync(Persona.P2, $"suite={suite}&member_status=pending&visibility=shared"));
        Assert.Equal([id], await _api.ListIdsAsync(Persona.P2, $"suite={suite}&member_status=all"));
        Assert.Empty(await _api.ListIdsAsync(Persona.P2, $"suite={suite}&member_status=accepted&visibility=shared"));

        // Accepted: in the default list.
        Expect.Status(await SetStatusAsync(id, "p2", "accepted", Persona.P2), 200);
        Assert.Equal([id], await _api.ListIdsAsync(Persona.P2, $"suite={suite}"));
        Assert.Empty(await _api.ListIdsAsync(Persona.P2, $"suite={suite}&member_status=pending&visibility=shared"));

        // Rejected: out of the default list again, still visible by id.
        Expect.Status(await SetStatusAsync(id, "p2", "rejected", Persona.P2), 200);
        Assert.Empty(await _api.ListIdsAsync(Persona.P2, $"suite={suite}"));
        Assert.Equal([id], await _api.ListIdsAsync(Persona.P2, $"suite={suite}&member_status=rejected"));
        await _api.ShowImageAsync(id, Persona.P2);

        // The owner always lists it; a stranger never does.
        Assert.Equal([id], await _api.ListIdsAsync(Persona.P1, $"suite={suite}"));
        Assert.Empty(await _api.ListIdsAsync(new Persona("p3", "member", "u3"), $"suite={suite}&member_status=all"));
    }

    [Fact]
    public async Task Members_stop_granting_access_when_the_image_is_no_longer_shared()
    {
        var (id, suite) = await SharedImageAsync();
        Expect.Status(await AddAsync(id, "p2"), 200);
        Expect.Status(await SetStatusAsync(id, "p2", "accepted", Persona.P2), 200);

        Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"replace","path":"/visibility","value":"private"}]"""), 200);
        Expect.Error(await _api.GetAsync($"/v2/images/{id}", Persona.P2), 404);
        Assert.Empty(await _api.ListIdsAsync(Persona.P2, $"suite={suite}"));

        Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"replace","path":"/visibility","value":"shared"}]"""), 200);
        await _api.ShowImageAsync(id, Persona.P2);
        Assert.Equal([id], await _api.ListIdsAsync(Persona.P2, $"suite={suite}"));
    }
}
