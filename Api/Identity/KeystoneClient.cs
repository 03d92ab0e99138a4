using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Glance.Api.Identity;

/// <summary>What Keystone says about a valid token: who it is, in which project, with which roles, until when.</summary>
public sealed record KeystoneToken(Caller Caller, DateTimeOffset ExpiresAt);

/// <summary>Keystone could not answer (unreachable, too slow, an error, or it refused the service's own credentials): 503.</summary>
public sealed class KeystoneUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The two Keystone v3 calls token validation needs, as keystonemiddleware makes them: the
/// service's own token by password (<c>POST /v3/auth/tokens</c>, renewed before it expires or
/// when Keystone answers 401), and <c>GET /v3/auth/tokens</c> with the user's token in
/// <c>X-Subject-Token</c>. No token or password is ever logged.
/// </summary>
public sealed class KeystoneClient(IHttpClientFactory httpClients, IOptions<KeystoneOptions> options, TimeProvider time, ILogger<KeystoneClient> logger)
{
    /// <summary>The IHttpClientFactory name of Keystone's client.</summary>
    public const string HttpClientName = "keystone";

    // Renew the service token this long before it expires (keystoneauth renews 120 s before).
    private static readonly TimeSpan RenewBefore = TimeSpan.FromSeconds(120);

    private readonly KeystoneOptions _options = options.Value;
    private readonly SemaphoreSlim _renewing = new(1, 1);
    private volatile ServiceToken? _serviceToken;

    private sealed record ServiceToken(string Value, DateTimeOffset ExpiresAt);

    /// <summary>
    /// Validates a user token: its identity, or null when Keystone does not know it (invalid,
    /// expired or revoked: Keystone answers 404).
    /// </summary>
    /// <exception cref="KeystoneUnavailableException">Keystone could not say.</exception>
    public async Task<KeystoneToken?> ValidateAsync(string token)
    {
        var service = await ServiceTokenAsync(stale: null);
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "auth/tokens?nocatalog");
            request.Headers.TryAddWithoutValidation("X-Auth-Token", service.Value);
            request.Headers.TryAddWithoutValidation("X-Subject-Token", token);
            using var response = await SendAsync(request, "validate a token");
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                    return Parse(await ReadAsync(response));
                case HttpStatusCode.NotFound:
                    return null;
                case HttpStatusCode.Unauthorized when attempt == 0:
                    // The service's own token was revoked or expired early: get a new one, once.
                    logger.LogInformation("Keystone refused the service token; authenticating again");
                    service = await ServiceTokenAsync(stale: service);
                    continue;
                default:
                    logger.LogWarning("Keystone answered {Status} to a token validation", (int)response.StatusCode);
                    throw new KeystoneUnavailableException($"Keystone answered {(int)response.StatusCode} to a token validation.");
            }
        }
    }

    /// <summary>The service's token: the current one, or a new one if it is <paramref name="stale"/> or about to expire.</summary>
    private async Task<ServiceToken> ServiceTokenAsync(ServiceToken? stale)
    {
        var current = _serviceToken;
        if (current is not null && current != stale && current.ExpiresAt - RenewBefore > time.GetUtcNow())
        {
            return current;
        }
        await _renewing.WaitAsync();
        try
        {
            current = _serviceToken;
            if (current is not null && current != stale && current.ExpiresAt - RenewBefore > time.GetUtcNow())
            {
                return current;
            }
            _serviceToken = current = await AuthenticateServiceAsync();
            return current;
        }
        finally
        {
            _renewing.Release();
        }
    }

    private async Task<ServiceToken> AuthenticateServiceAsync()
    {
        var body = JsonSerializer.Serialize(new
        {
            auth = new
            {
                identity = new
                {
                    methods = new[] { "password" },
                    password = new { user = new { name = _options.Username, domain = new { name = _options.UserDomain }, password = _options.Password } },
                },
                scope = new { project = new { name = _options.Project, domain = new { name = _options.ProjectDomain } } },
            },
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "auth/tokens?nocatalog")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        using var response = await SendAsync(request, "authenticate the service");
        if (response.StatusCode != HttpStatusCode.Created || !response.Headers.TryGetValues("X-Subject-Token", out var values))
        {
            logger.LogError("Keystone answered {Status} to the service's authentication (user {User} in domain {UserDomain}, project {Project} in domain {ProjectDomain}): check {Section}",
                (int)response.StatusCode, _options.Username, _options.UserDomain, _options.Project, _options.ProjectDomain, KeystoneOptions.Section);
            throw new KeystoneUnavailableException($"Keystone answered {(int)response.StatusCode} to the service's authentication.");
        }
        var token = Parse(await ReadAsync(response));
        logger.LogInformation("Authenticated to Keystone as {User}; the service token expires at {ExpiresAt:O}", _options.Username, token.ExpiresAt);
        return new ServiceToken(values.First(), token.ExpiresAt);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string what)
    {
        try
        {
            return await httpClients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseContentRead);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or TimeoutException)
        {
            // TaskCanceledException here is HttpClient.Timeout: nobody else cancels these requests.
            logger.LogWarning("Keystone at {Url} did not answer ({Error}) when asked to {What}", _options.Url, e.Message, what);
            throw new KeystoneUnavailableException($"Keystone did not answer when asked to {what}.", e);
        }
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response)
    {
        try
        {
            using var document = JsonDocument.Parse(await response.Content.ReadAsStreamAsync());
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new KeystoneUnavailableException("Keystone's answer is not JSON.", e);
        }
    }

    /// <summary>The caller a Keystone v3 token body describes: project id, user id, role names (lower-cased, as Glance).</summary>
    private static KeystoneToken Parse(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("token", out var token) || token.ValueKind != JsonValueKind.Object
            || !token.TryGetProperty("expires_at", out var expires) || expires.ValueKind != JsonValueKind.String
            || !DateTimeOffset.TryParse(expires.GetString(), System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal, out var expiresAt))
        {
            throw new KeystoneUnavailableException("Keystone's token body lacks token.expires_at.");
        }
        var roles = token.TryGetProperty("roles", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(r => StringProperty(r, "name")).OfType<string>()
            : [];
        var caller = new Caller(
            token.TryGetProperty("project", out var project) ? StringProperty(project, "id") : null,
            token.TryGetProperty("user", out var user) ? StringProperty(user, "id") : null,
            IdentityMiddleware.Roles(roles));
        return new KeystoneToken(caller, expiresAt);
    }

    private static string? StringProperty(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
