using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Glance.Api.Tests.Support;

/// <summary>
/// A real Keystone (Debian's keystone, Zed, under uwsgi on loopback with SQLite), started by
/// <c>scripts/keystone.sh up</c> (which installs it when missing) and stopped at the end if this
/// fixture started it; plus the Glance servers the tests run against it, one per configuration.
/// When Keystone cannot start, every test of the collection fails (under CI=true and elsewhere).
/// </summary>
public sealed class KeystoneFixture : IAsyncLifetime
{
    private readonly Dictionary<string, GlanceServer> _servers = [];
    private Dictionary<string, string> _env = [];
    private bool _started;

    /// <summary>Keystone's v3 endpoint, e.g. <c>http://127.0.0.1:5050/v3</c>.</summary>
    public string Url => Env("KEYSTONE_URL");

    /// <summary>Requests to Keystone.</summary>
    public KeystoneApi Api { get; private set; } = null!;

    /// <summary>The bootstrap admin (role admin on project admin).</summary>
    public KeystoneUser Admin => User("ADMIN", "KEYSTONE_ADMIN_USER", "KEYSTONE_ADMIN_PASSWORD", "KEYSTONE_ADMIN_PROJECT_ID");

    /// <summary>The member of project A.</summary>
    public KeystoneUser MemberA => User("A", "KEYSTONE_USER_A", "KEYSTONE_PASSWORD_A", "KEYSTONE_PROJECT_A_ID");

    /// <summary>The member of project B.</summary>
    public KeystoneUser MemberB => User("B", "KEYSTONE_USER_B", "KEYSTONE_PASSWORD_B", "KEYSTONE_PROJECT_B_ID");

    /// <summary>A value the script printed (KEYSTONE_*).</summary>
    public string Env(string key) => _env.TryGetValue(key, out var value) ? value : throw new InvalidOperationException($"keystone.sh did not print {key}");

    /// <summary>
    /// A Glance server validating tokens against this Keystone (as the service user
    /// <paramref name="serviceUser"/>, default the script's), created on first use per
    /// <paramref name="name"/> and kept for the collection.
    /// </summary>
    public GlanceServer Server(string name, int cacheSeconds = 300, string? serviceUser = null, string? servicePassword = null)
    {
        lock (_servers)
        {
            if (!_servers.TryGetValue(name, out var server))
            {
                server = new GlanceServer(_ => Settings(Url, serviceUser ?? Env("KEYSTONE_SERVICE_USER"),
                    servicePassword ?? Env("KEYSTONE_SERVICE_PASSWORD"), cacheSeconds));
                _servers[name] = server;
            }
            return server;
        }
    }

    /// <summary>The settings of a service validating tokens against <paramref name="url"/>.</summary>
    public static Dictionary<string, string?> Settings(string url, string user, string password, int cacheSeconds, int timeoutSeconds = 10) => new()
    {
        ["Glance:Identity:Keystone:Url"] = url,
        ["Glance:Identity:Keystone:Username"] = user,
        ["Glance:Identity:Keystone:Password"] = password,
        ["Glance:Identity:Keystone:Project"] = "service",
        ["Glance:Identity:Keystone:CacheSeconds"] = cacheSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Glance:Identity:Keystone:TimeoutSeconds"] = timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var (code, output) = await ScriptAsync("up", TimeSpan.FromMinutes(20));
        if (code != 0)
        {
            throw new InvalidOperationException(
                $"scripts/keystone.sh up failed (exit {code}); the Keystone tests need a real Keystone (Debian's keystone package, root or sudo to install it):\n{output}");
        }
        _env = ParseExports(output);
        _started = _env.GetValueOrDefault("KEYSTONE_STARTED") == "1";
        Api = new KeystoneApi(new Uri(Url.TrimEnd('/') + "/"));
        Assert.NotNull(await Api.TokenAsync(Admin));
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        foreach (var server in _servers.Values)
        {
            await server.DisposeAsync();
        }
        Api?.Dispose();
        if (_started)
        {
            await ScriptAsync("down", TimeSpan.FromMinutes(1));
        }
    }

    private KeystoneUser User(string label, string name, string password, string project) =>
        new(label, Env(name), Env(password), Env(project));

    /// <summary>The <c>export KEY=VALUE</c> lines keystone.sh prints (values possibly in shell single quotes).</summary>
    private static Dictionary<string, string> ParseExports(string output)
    {
        var env = new Dictionary<string, string>();
        foreach (var line in output.Split('\n'))
        {
            if (!line.StartsWith("export KEYSTONE_", StringComparison.Ordinal) || line.IndexOf('=') is var eq && eq < 0)
            {
                continue;
            }
            var value = line[(eq + 1)..].TrimEnd('\r');
            if (value.StartsWith('\'') && value.EndsWith('\''))
            {
                value = value[1..^1].Replace("'\"'\"'", "'", StringComparison.Ordinal);
            }
            env[line["export ".Length..eq]] = value;
        }
        return env;
    }

    private static async Task<(int Code, string Output)> ScriptAsync(string command, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot(), "scripts", "keystone.sh"));
        info.ArgumentList.Add(command);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}\n{await stderr}");
        }
        return (process.ExitCode, (await stdout) + "\n" + (await stderr));
    }

    /// <summary>The checkout this test assembly was built from (where Glance.Orleans.sln is).</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Glance.Orleans.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no Glance.Orleans.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>A Keystone user with a password, scoped to one project.</summary>
public sealed record KeystoneUser(string Label, string Name, string Password, string ProjectId)
{
    /// <inheritdoc />
    public override string ToString() => Label;
}

/// <summary>A token and when Keystone says it expires.</summary>
public sealed record IssuedToken(string Value, DateTimeOffset ExpiresAt);

/// <summary>The Keystone v3 calls the tests make: tokens, revocation, users, application credentials.</summary>
public sealed class KeystoneApi(Uri v3) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = v3, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>A project-scoped token of <paramref name="user"/> (password auth).</summary>
    public Task<IssuedToken> TokenAsync(KeystoneUser user) => IssueAsync(new
    {
        auth = new
        {
            identity = new { methods = new[] { "password" }, password = new { user = new { name = user.Name, domain = new { id = "default" }, password = user.Password } } },
            scope = new { project = new { id = user.ProjectId } },
        },
    });

    /// <summary>
    /// A token that expires at <paramref name="expiresAt"/>: Keystone caps the lifetime of a token
    /// issued for an application credential at the credential's expiry.
    /// </summary>
    public async Task<IssuedToken> ExpiringTokenAsync(KeystoneUser user, DateTimeOffset expiresAt)
    {
        var token = await TokenAsync(user);
        var userId = await UserIdAsync(token);
        var created = await SendAsync(HttpMethod.Post, $"users/{userId}/application_credentials", token.Value, new
        {
            application_credential = new { name = $"expiring-{Guid.NewGuid():N}", expires_at = expiresAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) },
        }, HttpStatusCode.Created);
        var credential = created.GetProperty("application_credential");
        return await IssueAsync(new
        {
            auth = new
            {
                identity = new
                {
                    methods = new[] { "application_credential" },
                    application_credential = new { id = credential.GetProperty("id").GetString(), secret = credential.GetProperty("secret").GetString() },
                },
            },
        });
    }

    /// <summary>Revokes <paramref name="token"/> (DELETE /v3/auth/tokens) as <paramref name="admin"/>.</summary>
    public async Task RevokeAsync(IssuedToken admin, IssuedToken token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, "auth/tokens");
        request.Headers.Add("X-Auth-Token", admin.Value);
        request.Headers.Add("X-Subject-Token", token.Value);
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    /// <summary>
    /// A user with role admin on project <c>service</c> (made if missing), with
    /// <paramref name="password"/> set, which revokes every token the user had.
    /// </summary>
    public async Task CreateServiceUserAsync(IssuedToken admin, string name, string password)
    {
        var service = (await SendAsync(HttpMethod.Get, "projects?name=service", admin.Value, null, HttpStatusCode.OK)).GetProperty("projects")[0].GetProperty("id").GetString();
        var role = (await SendAsync(HttpMethod.Get, "roles?name=admin", admin.Value, null, HttpStatusCode.OK)).GetProperty("roles")[0].GetProperty("id").GetString();
        var users = (await SendAsync(HttpMethod.Get, $"users?name={name}", admin.Value, null, HttpStatusCode.OK)).GetProperty("users");
        var id = users.GetArrayLength() > 0
            ? users[0].GetProperty("id").GetString()
            : (await SendAsync(HttpMethod.Post, "users", admin.Value, new { user = new { name, password, domain_id = "default" } }, HttpStatusCode.Created))
                .GetProperty("user").GetProperty("id").GetString();
        await SendAsync(HttpMethod.Put, $"projects/{service}/users/{id}/roles/{role}", admin.Value, null, HttpStatusCode.NoContent);
        await SendAsync(HttpMethod.Patch, $"users/{id}", admin.Value, new { user = new { password } }, HttpStatusCode.OK);
    }

    private async Task<string> UserIdAsync(IssuedToken token)
    {
        var validated = await SendAsync(HttpMethod.Get, "auth/tokens?nocatalog", token.Value, null, HttpStatusCode.OK, subject: token.Value);
        return validated.GetProperty("token").GetProperty("user").GetProperty("id").GetString()!;
    }

    private async Task<IssuedToken> IssueAsync(object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "auth/tokens?nocatalog") { Content = Json(body) };
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"Keystone token request: {(int)response.StatusCode} {text}");
        var expires = JsonDocument.Parse(text).RootElement.GetProperty("token").GetProperty("expires_at").GetString()!;
        return new IssuedToken(response.Headers.GetValues("X-Subject-Token").Single(),
            DateTimeOffset.Parse(expires, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal));
    }

    private async Task<JsonElement> SendAsync(HttpMethod method, string path, string token, object? body, HttpStatusCode expected, string? subject = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : Json(body) };
        request.Headers.Add("X-Auth-Token", token);
        if (subject is not null)
        {
            request.Headers.Add("X-Subject-Token", subject);
        }
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"Keystone {method} {path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}

/// <summary>The tests against the real Keystone: one Keystone for all, one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class KeystoneCollection : ICollectionFixture<KeystoneFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "keystone";
}
