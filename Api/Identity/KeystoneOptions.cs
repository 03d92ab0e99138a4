using Microsoft.Extensions.Options;

namespace Glance.Api.Identity;

/// <summary>
/// Keystone token validation, bound from <c>Glance:Identity:Keystone</c>. With <see cref="Url"/>
/// set, every <c>/v2</c> request's <c>X-Auth-Token</c> is validated against Keystone v3 with the
/// service's own credentials (as Glance's <c>[keystone_authtoken]</c> section configures
/// keystonemiddleware), and identity headers sent by clients are ignored. Without it, identity
/// comes from headers (<see cref="IdentityOptions"/>).
/// </summary>
public sealed class KeystoneOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Glance:Identity:Keystone";

    /// <summary>
    /// The Keystone v3 endpoint, e.g. <c>http://keystone:5000/v3</c> (a URL without the
    /// <c>/v3</c> suffix gets it). Also the <c>uri</c> of the 401's <c>WWW-Authenticate</c>.
    /// </summary>
    public string? Url { get; set; }

    /// <summary>The service's own user (Glance's <c>username</c>, e.g. <c>glance</c>).</summary>
    public string? Username { get; set; }

    /// <summary>The service user's password.</summary>
    public string? Password { get; set; }

    /// <summary>The project the service's token is scoped to (e.g. <c>service</c>).</summary>
    public string? Project { get; set; }

    /// <summary>The service user's domain name.</summary>
    public string UserDomain { get; set; } = "Default";

    /// <summary>The service project's domain name.</summary>
    public string ProjectDomain { get; set; } = "Default";

    /// <summary>
    /// How long a validated token is trusted without asking Keystone again (keystonemiddleware's
    /// <c>token_cache_time</c>, 300 s); a revoked token keeps working that long. 0 = no cache.
    /// </summary>
    public int CacheSeconds { get; set; } = 300;

    /// <summary>Most tokens cached at once: the cache's memory bound (about 1 KiB each).</summary>
    public int CacheEntries { get; set; } = 10_000;

    /// <summary>Longest wait for one Keystone request; beyond it the request answers 503.</summary>
    public int TimeoutSeconds { get; set; } = 10;

    /// <summary>Whether Keystone validation is on.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Url);

    /// <summary>The v3 base URL with a trailing slash, for relative request paths.</summary>
    public Uri V3BaseUri()
    {
        var url = Url!.Trim().TrimEnd('/');
        return new Uri((url.EndsWith("/v3", StringComparison.OrdinalIgnoreCase) ? url : url + "/v3") + "/");
    }
}

/// <summary>Start-up checks of <see cref="KeystoneOptions"/>: every problem, each naming its key.</summary>
public sealed class KeystoneOptionsValidator : IValidateOptions<KeystoneOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, KeystoneOptions options)
    {
        var problems = Problems(options).ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static IEnumerable<string> Problems(KeystoneOptions o)
    {
        const string S = KeystoneOptions.Section;
        if (o.CacheSeconds < 0)
        {
            yield return $"{S}:CacheSeconds must be 0 or more (0 = no cache), not {o.CacheSeconds}.";
        }
        if (o.CacheEntries < 1)
        {
            yield return $"{S}:CacheEntries must be at least 1, not {o.CacheEntries}.";
        }
        if (o.TimeoutSeconds < 1)
        {
            yield return $"{S}:TimeoutSeconds must be at least 1, not {o.TimeoutSeconds}.";
        }
        if (!o.Enabled)
        {
            yield break;
        }
        if (!Uri.TryCreate(o.Url!.Trim(), UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.Fragment))
        {
            yield return $"{S}:Url must be an absolute http or https URL without query (the Keystone v3 endpoint, e.g. http://keystone:5000/v3), not '{o.Url}'.";
        }
        foreach (var (key, value) in new[] { ("Username", o.Username), ("Password", o.Password), ("Project", o.Project), ("UserDomain", o.UserDomain), ("ProjectDomain", o.ProjectDomain) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                yield return $"{S}:{key} is required when {S}:Url is set (the service's own Keystone credentials).";
            }
        }
    }
}
