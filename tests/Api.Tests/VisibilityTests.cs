using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>Who sees which image, by id and in lists (spec section 5).</summary>
[Collection(ApiCollection.Name)]
public sealed class VisibilityTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    private sealed record Matrix(string Suite, string Private, string Shared, string Community, string Public, string AdminCommunity);

    private async Task<Matrix> CreateMatrixAsync()
    {
        var suite = GlanceClient.Unique("vis");
        async Task<string> Create(Persona caller, string visibility) =>
            Expect.Str(await _api.CreateImageAsync(caller, new { visibility, suite, name = visibility }), "id");
        return new Matrix(
            suite,
            await Create(Persona.P1, "private"),
            await Create(Persona.P1, "shared"),
            await Create(Persona.P1, "community"),
            await Create(Persona.Admin, "public"),
            await Create(Persona.Admin, "community"));
    }

    [Fact]
    public async Task Get_by_id_follows_visibility_and_is_404_never_403()
    {
        var m = await CreateMatrixAsync();
        var expected = new (string Id, Persona Caller, int Status)[]
        {
            (m.Private, Persona.P1, 200), (m.Private, Persona.P2, 404), (m.Private, Persona.Admin, 200),
            (m.Shared, Persona.P1, 200), (m.Shared, Persona.P2, 404), (m.Shared, Persona.Admin, 200),
            (m.Community, Persona.P1, 200), (m.Community, Persona.P2, 200), (m.Community, Persona.Admin, 200),
            (m.Public, Persona.P1, 200), (m.Public, Persona.P2, 200), (m.Public, Persona.Admin, 200),
        };

        foreach (var (id, caller, status) in expected)
        {
            var response = await _api.GetAsync($"/v2/images/{id}", caller);
            Assert.True(response.Code == status, $"{caller.Project} GET {id}: expected {status}, got {response}");
            if (status == 404)
            {
                Expect.Error(response, 404);
            }
        }
    }

    [Fact]
    public async Task Default_list_shows_public_own_and_accepted_shared_but_not_foreign_community()
    {
        var m = await CreateMatrixAsync();

        var p1 = await _api.ListIdsAsync(Persona.P1, $"suite={m.Suite}");
        var p2 = await _api.ListIdsAsync(Persona.P2, $"suite={m.Suite}");
        var admin = await _api.ListIdsAsync(Persona.Admin, $"suite={m.Suite}");

        Assert.Equal(new[] { m.Private, m.Shared, m.Community, m.Public }.Order(), p1.Order());
        Assert.Equal([m.Public], p2);
        Assert.Equal(new[] { m.Private, m.Shared, m.Public, m.AdminCommunity }.Order(), admin.Order());
    }

    [Theory]
    [InlineData("public")]
    [InlineData("private")]
    [InlineData("shared")]
    [InlineData("community")]
    [InlineData("all")]
    public async Task Visibility_filter_selects_by_visibility(string visibility)
    {
        var m = await CreateMatrixAsync();

        var p1 = await _api.ListIdsAsync(Persona.P1, $"suite={m.Suite}&visibility={visibility}");
        var p2 = await _api.ListIdsAsync(Persona.P2, $"suite={m.Suite}&visibility={visibility}");
        var admin = await _api.ListIdsAsync(Persona.Admin, $"suite={m.Suite}&visibility={visibility}");

        var (expectedP1, expectedP2, expectedAdmin) = visibility switch
        {
            "public" => (new[] { m.Public }, new[] { m.Public }, new[] { m.Public }),
            "private" => ([m.Private], [], [m.Private]),
            "shared" => ([m.Shared], [], [m.Shared]),
            "community" => ([m.Community, m.AdminCommunity], [m.Community, m.AdminCommunity], [m.Community, m.AdminCommunity]),
            _ => (new[] { m.Private, m.Shared, m.Community, m.Public, m.AdminCommunity },
                  new[] { m.Community, m.Public, m.AdminCommunity },
                  new[] { m.Private, m.Shared, m.Community, m.Public, m.AdminCommunity }),
        };
        Assert.Equal(expectedP1.Order(), p1.Order());
        Assert.Equal(expectedP2.Order(), p2.Order());
        Assert.Equal(expectedAdmin.Order(), admin.Order());
    }

    [Fact]
    public async Task Making_an_image_private_hides_it_from_others_at_once()
    {
        var id = Expect.Str(await _api.CreateImageAsync(Persona.P1, new { visibility = "community" }), "id");
        await _api.ShowImageAsync(id, Persona.P2);

        Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1, """[{"op":"replace","path":"/visibility","value":"private"}]"""), 200);

        Expect.Error(await _api.GetAsync($"/v2/images/{id}", Persona.P2), 404);
        await _api.ShowImageAsync(id, Persona.Admin);
    }
}
