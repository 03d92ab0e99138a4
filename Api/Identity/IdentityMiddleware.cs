using Glance.Api.Errors;
using Glance.Api.Telemetry;
using Microsoft.Extensions.Options;

namespace Glance.Api.Identity;

/// <summary>
/// Establishes the <see cref="Caller"/> of every <c>/v2</c> request. With Keystone configured
/// (<see cref="KeystoneOptions"/>) from the request's <c>X-Auth-Token</c>, validated against
/// Keystone, ignoring identity headers; otherwise from the identity headers, which are then
/// trusted: deploy behind a proxy that sets them (as Glance trusts Keystone's middleware).
/// Version discovery and the health check stay unauthenticated, as in Glance.
/// </summary>
public sealed class IdentityMiddleware(RequestDelegate next, IOptions<IdentityOptions> options, IOptions<KeystoneOptions> keystoneOptions,
    KeystoneAuthenticator keystone, ILogger<IdentityMiddleware> logger)
{
    private readonly Caller _defaultCaller = new(
        options.Value.DefaultProject, options.Value.DefaultUser, Roles(options.Value.DefaultRoles));

    // keystonemiddleware's header on every 401: where to get a token.
    private readonly string _wwwAuthenticate = $"Keystone uri=\"{keystoneOptions.Value.Url?.Trim()}\"";

    public Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/v2") && context.GetEndpoint()?.Metadata.GetMetadata<IdentityRequired>() is null)
        {
            return next(context);
        }
        if (keystone.Enabled)
        {
            return InvokeWithKeystoneAsync(context);
        }
        var headers = context.Request.Headers;
        Caller caller;
        if (!IdentityHeaders.Any(headers.ContainsKey))
        {
            caller = options.Value.UseDefaultIdentity ? _defaultCaller : throw Unauthenticated();
        }
        else
        {
            // A header that is present but empty is what a proxy forwards for a request it did not
            // authenticate: never the default identity, never "no project".
            if (IdentityHeaders.Any(h => headers.TryGetValue(h, out var value) && string.IsNullOrWhiteSpace(value.ToString())))
            {
                throw Unauthenticated();
            }
            var status = headers["X-Identity-Status"].ToString();
            if (status.Length > 0 && !status.Equals("Confirmed", StringComparison.OrdinalIgnoreCase))
            {
                throw Unauthenticated();
            }
            caller = new Caller(
                FirstOf(headers["X-Project-Id"], headers["X-Tenant-Id"], headers["X-Tenant"]),
                FirstOf(headers["X-User-Id"], headers["X-User"]),
                Roles(headers["X-Roles"].ToString()));
        }
        context.Features.Set(caller);
        RequestTelemetry.CallerIdentified(context, caller);
        return next(context);
    }

    private async Task InvokeWithKeystoneAsync(HttpContext context)
    {
        var headers = context.Request.Headers;
        // What clients claim about themselves counts for nothing here (auth_token removes these too).
        foreach (var header in IdentityHeaders)
        {
            headers.Remove(header);
        }
        var token = headers["X-Auth-Token"].ToString();
        if (token.Length == 0)
        {
            token = headers["X-Storage-Token"].ToString(); // auth_token's fallback header
        }
        Caller? caller;
        try
        {
            caller = await keystone.AuthenticateAsync(token, context.RequestAborted);
        }
        catch (KeystoneUnavailableException)
        {
            // auth_token's answer when it cannot reach Keystone (KeystoneClient logged why).
            await ErrorResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "The Keystone service is temporarily unavailable.");
            return;
        }
        if (caller is null)
        {
            logger.LogDebug("{Method} {Path}: {What}", context.Request.Method, context.Request.Path,
                token.Length == 0 ? "no X-Auth-Token" : "Keystone did not confirm the token");
            context.Response.Headers.WWWAuthenticate = _wwwAuthenticate;
            throw Unauthenticated();
        }
        context.Features.Set(caller);
        RequestTelemetry.CallerIdentified(context, caller);
        await next(context);
    }

    private static readonly string[] IdentityHeaders =
        ["X-Identity-Status", "X-Project-Id", "X-Tenant-Id", "X-Tenant", "X-User-Id", "X-User", "X-Roles"];

    private static GlanceException Unauthenticated() =>
        new(ErrorKind.Unauthorized, "The request you have made requires authentication.");

    private static string? FirstOf(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrEmpty(v));

    private static ImmutableArray<string> Roles(string roles) =>
        Roles(roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>Role names as Glance compares them: lower-cased.</summary>
    internal static ImmutableArray<string> Roles(IEnumerable<string> roles) => [.. roles.Select(r => r.ToLowerInvariant())];
}

/// <summary>Endpoint metadata: identity runs for this endpoint although it is not under <c>/v2</c>.</summary>
public sealed class IdentityRequired;

/// <summary>Access to the request's caller.</summary>
public static class CallerHttpContextExtensions
{
    /// <summary>The caller the identity middleware established.</summary>
    public static Caller Caller(this HttpContext context) =>
        context.Features.Get<Caller>() ?? throw new InvalidOperationException("Identity middleware did not run for this path.");
}
