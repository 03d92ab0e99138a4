using Microsoft.Extensions.Options;

namespace Glance.Api.Identity;

/// <summary>
/// Turns the identity headers into a <see cref="Caller"/> for every <c>/v2</c> request.
/// The headers are trusted: deploy behind a proxy that sets them (as Glance trusts
/// Keystone's middleware). Version discovery stays unauthenticated, as in Glance.
/// </summary>
public sealed class IdentityMiddleware(RequestDelegate next, IOptions<IdentityOptions> options)
{
    private readonly Caller _defaultCaller = new(
        options.Value.DefaultProject, options.Value.DefaultUser, Roles(options.Value.DefaultRoles));

    public Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/v2"))
        {
            return next(context);
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
        return next(context);
    }

    private static readonly string[] IdentityHeaders =
        ["X-Identity-Status", "X-Project-Id", "X-Tenant-Id", "X-Tenant", "X-User-Id", "X-User", "X-Roles"];

    private static GlanceException Unauthenticated() =>
        new(ErrorKind.Unauthorized, "The request you have made requires authentication.");

    private static string? FirstOf(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrEmpty(v));

    // Glance lower-cases role names.
    private static ImmutableArray<string> Roles(string roles) =>
        [.. roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(r => r.ToLowerInvariant())];
}

/// <summary>Access to the request's caller.</summary>
public static class CallerHttpContextExtensions
{
    /// <summary>The caller the identity middleware established.</summary>
    public static Caller Caller(this HttpContext context) =>
        context.Features.Get<Caller>() ?? throw new InvalidOperationException("Identity middleware did not run for this path.");
}
