using System.Diagnostics;
using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// Glance:Identity:Keystone against a real Keystone (scripts/keystone.sh): the service validates
/// X-Auth-Token itself, as Glance with keystonemiddleware's auth_token does.
/// </summary>
[Collection(KeystoneCollection.Name)]
public sealed class KeystoneTests(KeystoneFixture keystone)
{
    // Tokens validated once are trusted for 300 s (the default, keystonemiddleware's).
    private GlanceClient Cached => keystone.Server("cached").Client;

    // Tokens trusted for 2 s only: a revocation takes effect that soon.
    private GlanceClient ShortCache => keystone.Server("short-cache", cacheSeconds: 2).Client;

    private string WwwAuthenticate => $"Keystone uri=\"{keystone.Url}\"";

    [Fact]
    public async Task A_users_token_is_its_project_and_roles()
    {
        var a = await keystone.Api.TokenAsync(keystone.MemberA);
        var b = await keystone.Api.TokenAsync(keystone.MemberB);
        var admin = await keystone.Api.TokenAsync(keystone.Admin);

        var created = await Send(Cached, a, HttpMethod.Post, "/v2/images", new { name = GlanceClient.Unique("ks"), visibility = "private" });
        Expect.Status(created, 201);
        var id = Expect.Str(created.Json, "id");
        Assert.Equal(keystone.MemberA.ProjectId, Expect.Str(created.Json, "owner"));

        Expect.Status(await Send(Cached, a, HttpMethod.Get, $"/v2/images/{id}"), 200);
        Expect.Error(await Send(Cached, b, HttpMethod.Get, $"/v2/images/{id}"), 404);
        Assert.DoesNotContain(id, GlanceClient.Ids(Expect.Status(await Send(Cached, b, HttpMethod.Get, "/v2/images"), 200).Json));
        Assert.Contains(id, GlanceClient.Ids(Expect.Status(await Send(Cached, a, HttpMethod.Get, "/v2/images"), 200).Json));
        // The admin role (Keystone's "admin", lower-cased as Glance does) sees every project's images...
        Expect.Status(await Send(Cached, admin, HttpMethod.Get, $"/v2/images/{id}"), 200);
        // ... and alone may publicize one; the member role may not.
        var publicize = new[] { new { op = "replace", path = "/visibility", value = "public" } };
        Expect.Error(await Send(Cached, a, HttpMethod.Patch, $"/v2/images/{id}", publicize), 403);
        Expect.Status(await Send(Cached, admin, HttpMethod.Patch, $"/v2/images/{id}", publicize), 200);
        Expect.Status(await Send(Cached, b, HttpMethod.Get, $"/v2/images/{id}"), 200);

        Expect.Status(await Send(Cached, a, HttpMethod.Delete, $"/v2/images/{id}"), 204);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("empty")]
    [InlineData("garbage")]
    [InlineData("tampered")]
    [InlineData("huge")]
    public async Task A_missing_or_invalid_token_is_401_with_WWW_Authenticate(string kind)
    {
        var real = (await keystone.Api.TokenAsync(keystone.MemberA)).Value;
        string? token = kind switch
        {
            "none" => null,
            "empty" => "",
            "garbage" => "garbage",
            // Fernet tokens are authenticated: one changed character makes it unknown to Keystone.
            "tampered" => real[..40] + (real[40] == 'A' ? 'B' : 'A') + real[41..],
            _ => new string('x', 10_000),
        };
        var headers = token is null ? null : new Dictionary<string, string> { ["X-Auth-Token"] = token };

        foreach (var (method, path) in new[] { (HttpMethod.Get, "/v2/images"), (HttpMethod.Post, "/v2/images"), (HttpMethod.Get, $"/v2/images/{Guid.NewGuid()}"), (HttpMethod.Get, "/v2/schemas/image") })
        {
            var response = await Cached.SendAsync(method, path, null, method == HttpMethod.Post ? GlanceClient.Body("{}", "application/json") : null, headers);
            Expect.Error(response, 401);
            Assert.Equal(WwwAuthenticate, response.Header("WWW-Authenticate"));
        }
    }

    [Fact]
    public async Task Identity_headers_sent_by_clients_are_ignored()
    {
        // Headers alone, claiming to be an admin: no token, 401 (the default identity is off too).
        Expect.Error(await Cached.GetAsync("/v2/images", Persona.Admin), 401);
        Expect.Error(await Cached.GetAsync("/v2/images", null), 401);

        var a = await keystone.Api.TokenAsync(keystone.MemberA);
        var b = await keystone.Api.TokenAsync(keystone.MemberB);
        var hidden = await Send(Cached, b, HttpMethod.Post, "/v2/images", new { name = GlanceClient.Unique("ks"), visibility = "private" });
        var hiddenId = Expect.Str(Expect.Status(hidden, 201).Json, "id");

        // A's token with headers claiming project B and the admin role: still A, a member.
        var claims = new Persona(keystone.MemberB.ProjectId, "admin,member", "someone-else");
        var created = await Send(Cached, a, HttpMethod.Post, "/v2/images", new { name = GlanceClient.Unique("ks") }, claims);
        Assert.Equal(keystone.MemberA.ProjectId, Expect.Str(Expect.Status(created, 201).Json, "owner"));
        Expect.Error(await Send(Cached, a, HttpMethod.Get, $"/v2/images/{hiddenId}", claims: claims), 404);

        Expect.Status(await Send(Cached, a, HttpMethod.Delete, $"/v2/images/{Expect.Str(created.Json, "id")}"), 204);
        Expect.Status(await Send(Cached, b, HttpMethod.Delete, $"/v2/images/{hiddenId}"), 204);
    }

    [Fact]
    public async Task Version_discovery_and_the_health_check_need_no_token()
    {
        Expect.Status(await Cached.GetAsync("/", null), 300);
        Expect.Status(await Cached.GetAsync("/versions", null), 200);
        var health = Expect.Status(await Cached.GetAsync("/healthcheck", null), 200);
        Assert.Equal("OK", health.Text);
    }

    [Fact]
    public async Task A_revoked_token_keeps_working_while_cached_then_stops()
    {
        var admin = await keystone.Api.TokenAsync(keystone.Admin);

        // CacheSeconds=300: trusted for the cache time without asking Keystone (the cost of the cache).
        var cachedToken = await keystone.Api.TokenAsync(keystone.MemberB);
        Expect.Status(await Send(Cached, cachedToken, HttpMethod.Get, "/v2/images"), 200);
        await keystone.Api.RevokeAsync(admin, cachedToken);
        Expect.Status(await Send(Cached, cachedToken, HttpMethod.Get, "/v2/images"), 200);

        // CacheSeconds=2: refused once the cache entry is gone.
        var token = await keystone.Api.TokenAsync(keystone.MemberB);
        Expect.Status(await Send(ShortCache, token, HttpMethod.Get, "/v2/images"), 200);
        var validated = Stopwatch.StartNew();
        await keystone.Api.RevokeAsync(admin, token);
        await Task.Delay(TimeSpan.FromSeconds(2.5) - validated.Elapsed);
        var refused = await Send(ShortCache, token, HttpMethod.Get, "/v2/images");
        Expect.Error(refused, 401);
        Assert.Equal(WwwAuthenticate, refused.Header("WWW-Authenticate"));

        // ... and a revoked token the service never saw is refused at once.
        var other = await keystone.Api.TokenAsync(keystone.MemberB);
        await keystone.Api.RevokeAsync(admin, other);
        Expect.Error(await Send(ShortCache, other, HttpMethod.Get, "/v2/images"), 401);
    }

    [Fact]
    public async Task A_token_is_refused_once_it_expires_even_from_the_cache()
    {
        var token = await keystone.Api.ExpiringTokenAsync(keystone.MemberA, DateTimeOffset.UtcNow.AddSeconds(10));
        Assert.True(token.ExpiresAt < DateTimeOffset.UtcNow.AddSeconds(12), $"Keystone did not cap the token's expiry: {token.ExpiresAt:O}");

        // Validated and cached (for up to 300 s) while it is valid...
        Expect.Status(await Send(Cached, token, HttpMethod.Get, "/v2/images"), 200);
        // ... refused after its expires_at, though the cache time has not run out.
        var wait = token.ExpiresAt - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
        var refused = await Send(Cached, token, HttpMethod.Get, "/v2/images");
        Expect.Error(refused, 401);
        Assert.Equal(WwwAuthenticate, refused.Header("WWW-Authenticate"));
    }

    [Fact]
    public async Task Concurrent_requests_with_one_new_token_all_succeed()
    {
        var token = await keystone.Api.TokenAsync(keystone.MemberA);

        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Send(ShortCache, token, HttpMethod.Get, "/v2/images")));

        Assert.All(responses, r => Expect.Status(r, 200));
    }

    [Fact]
    public async Task The_service_authenticates_again_when_Keystone_refuses_its_token()
    {
        var admin = await keystone.Api.TokenAsync(keystone.Admin);
        const string user = "glance-renew-test";
        await keystone.Api.CreateServiceUserAsync(admin, user, "renew-password");
        var server = keystone.Server("renew", cacheSeconds: 0, serviceUser: user, servicePassword: "renew-password").Client;
        Expect.Status(await Send(server, await keystone.Api.TokenAsync(keystone.MemberA), HttpMethod.Get, "/v2/images"), 200);

        // Setting the password revokes every token of the service user, the service's own included.
        await keystone.Api.CreateServiceUserAsync(admin, user, "renew-password");
        // Keystone revokes by whole seconds: a token issued in the revocation's second is revoked too.
        await Task.Delay(TimeSpan.FromSeconds(1.2));

        Expect.Status(await Send(server, await keystone.Api.TokenAsync(keystone.MemberB), HttpMethod.Get, "/v2/images"), 200);
    }

    /// <summary>A request with <paramref name="token"/> in X-Auth-Token (and <paramref name="claims"/> as identity headers).</summary>
    private static Task<ApiResponse> Send(GlanceClient api, IssuedToken token, HttpMethod method, string path, object? body = null, Persona? claims = null)
    {
        var content = body is null ? null
            : GlanceClient.Body(JsonSerializer.Serialize(body), method == HttpMethod.Patch ? GlanceClient.PatchV21 : "application/json");
        return api.SendAsync(method, path, claims, content, new Dictionary<string, string> { ["X-Auth-Token"] = token.Value });
    }
}
