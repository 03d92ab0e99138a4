using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>Persona headers, the default identity and 401s (spec section 0).</summary>
[Collection(ApiCollection.Name)]
public sealed class IdentityTests(ApiFixture fixture)
{
    private readonly GlanceClient _api = fixture.Client;

    [Fact]
    public async Task Headers_identify_the_caller_and_its_project_owns_what_it_creates()
    {
        var p1 = await _api.CreateImageAsync(Persona.P1);
        var p2 = await _api.CreateImageAsync(Persona.P2);
        var admin = await _api.CreateImageAsync(Persona.Admin);

        Assert.Equal("p1", Expect.Str(p1, "owner"));
        Assert.Equal("p2", Expect.Str(p2, "owner"));
        Assert.Equal("p-admin", Expect.Str(admin, "owner"));
    }

    [Fact]
    public async Task Roles_are_case_insensitive()
    {
        var shouting = new Persona("p-shout", "ADMIN", "u");
        var hidden = await _api.CreateImageAsync(Persona.P1, new { visibility = "private" });

        var shown = await _api.GetAsync($"/v2/images/{Expect.Str(hidden, "id")}", shouting);

        Expect.Status(shown, 200);
    }

    [Fact]
    public async Task No_identity_headers_means_the_default_identity_an_admin_of_project_admin()
    {
        var created = await _api.CreateImageAsync(null);
        Assert.Equal("admin", Expect.Str(created, "owner"));

        // The default identity is an administrator: it sees another project's private image.
        var p1Private = await _api.CreateImageAsync(Persona.P1, new { visibility = "private" });
        var shown = await _api.GetAsync($"/v2/images/{Expect.Str(p1Private, "id")}", null);
        Expect.Status(shown, 200);
        // ... which p2 may not.
        Expect.Error(await _api.GetAsync($"/v2/images/{Expect.Str(p1Private, "id")}", Persona.P2), 404);
    }

    [Theory]
    [InlineData("Invalid")]
    [InlineData("bogus")]
    public async Task Identity_status_other_than_confirmed_is_401(string status)
    {
        var caller = Persona.P1 with { Status = status };

        Expect.Error(await _api.GetAsync("/v2/images", caller), 401);
        Expect.Error(await _api.PostJsonAsync("/v2/images", caller, "{}"), 401);
    }

    [Fact]
    public async Task Version_discovery_needs_no_identity_even_when_invalid()
    {
        var caller = Persona.P1 with { Status = "Invalid" };

        Expect.Status(await _api.GetAsync("/", caller), 300);
        Expect.Status(await _api.GetAsync("/versions", caller), 200);
    }
}

/// <summary>A server with the default identity turned off, as in production.</summary>
public sealed class NoDefaultIdentityFixture : IAsyncLifetime
{
    private GlanceServer? _server;

    /// <summary>A client of the server.</summary>
    public GlanceClient Client => (_server ?? throw new InvalidOperationException("not started")).Client;

    /// <inheritdoc />
    public Task InitializeAsync()
    {
        _server = new GlanceServer(_ => new Dictionary<string, string?>
        {
            ["Glance:Identity:UseDefaultIdentity"] = "false",
        });
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>Glance:Identity:UseDefaultIdentity=false: requests without identity get 401.</summary>
public sealed class NoDefaultIdentityTests(NoDefaultIdentityFixture fixture) : IClassFixture<NoDefaultIdentityFixture>
{
    private readonly GlanceClient _api = fixture.Client;

    [Fact]
    public async Task Requests_without_identity_headers_are_401_with_a_json_error()
    {
        Expect.Error(await _api.GetAsync("/v2/images", null), 401);
        Expect.Error(await _api.PostJsonAsync("/v2/images", null, "{}"), 401);
        Expect.Error(await _api.GetAsync($"/v2/images/{Guid.NewGuid()}", null), 401);
    }

    [Fact]
    public async Task Requests_with_identity_headers_are_served()
    {
        var created = await _api.CreateImageAsync(Persona.P1);

        Assert.Equal("p1", Expect.Str(created, "owner"));
        Expect.Status(await _api.GetAsync("/v2/images", Persona.P1), 200);
    }

    [Fact]
    public async Task Version_discovery_stays_unauthenticated()
    {
        Expect.Status(await _api.GetAsync("/", null), 300);
        Expect.Status(await _api.GetAsync("/versions", null), 200);
    }
}
