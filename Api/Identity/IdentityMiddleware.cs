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
        var status = headers["X-Identity-Status"].ToString();
        var project = FirstOf(headers["X-Project-Id"], headers["X-Tenant-Id"], headers["X-Tenant"]);
        var user = FirstOf(headers["X-User-Id"], headers["X-User"]);
        var roles = headers["X-Roles"].ToString();
        Caller caller;
        if (status.Length > 0 && !status.Equals("Confirmed", StringComparison.OrdinalIgnoreCase))
        {
            throw new GlanceException(ErrorKind.Unauthorized, "The request you have made requires authentication.");
        }
        if (status.Length == 0 && project is null && user is null && roles.Length == 0)
        {
            caller = options.Value.UseDefaultIdentity
                ? _defaultCaller
                : throw new GlanceException(ErrorKind.Unauthorized, "The request you have made requires authentication.");
        }
        else
        {
            caller = new Caller(project, user, Roles(roles));
        }
        context.Features.Set(caller);
        return next(context);
    }

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
