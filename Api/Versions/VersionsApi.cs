using System.Text.Json;

namespace Glance.Api.Versions;

/// <summary>
/// Version discovery (<c>GET /</c> 300, <c>GET /versions</c> 200), and negotiation:
/// <c>/v2.N/...</c> is served as <c>/v2/...</c>; any other version prefix gets the
/// versions document with 300, as Glance answers.
/// </summary>
public static class VersionsApi
{
    /// <summary>
    /// The versions Glance lists (current first) with its image cache and multiple stores
    /// configured, as this service has import, <c>/v2/info/stores</c> and image tasks:
    /// 2.8 to 2.13 are the multistore ones, and 2.12 is what clients (glanceclient's
    /// <c>image-tasks</c>, tempest's import test) check before <c>/v2/images/{id}/tasks</c>.
    /// </summary>
    private static readonly (string Id, string Status)[] Versions =
    [
        ("v2.16", "CURRENT"), ("v2.15", "SUPPORTED"), ("v2.14", "SUPPORTED"), ("v2.13", "SUPPORTED"),
        ("v2.12", "SUPPORTED"), ("v2.11", "SUPPORTED"), ("v2.10", "SUPPORTED"), ("v2.9", "SUPPORTED"),
        ("v2.8", "SUPPORTED"), ("v2.7", "SUPPORTED"), ("v2.6", "SUPPORTED"), ("v2.5", "SUPPORTED"), ("v2.4", "SUPPORTED"),
        ("v2.3", "SUPPORTED"), ("v2.2", "SUPPORTED"), ("v2.1", "SUPPORTED"), ("v2.0", "SUPPORTED"),
    ];

    /// <summary>
    /// With the image-cache extension on, Glance's list with <c>image_cache_dir</c> set: 2.18 is
    /// current, and 2.14 to 2.18 carry the cache API (glanceclient's <c>cache-*</c> need 2.14).
    /// </summary>
    private static readonly (string Id, string Status)[] CachedVersions =
        [("v2.18", "CURRENT"), ("v2.17", "SUPPORTED"), .. Versions.Select(v => v.Status == "CURRENT" ? (v.Id, "SUPPORTED") : v)];

    /// <summary>Maps the discovery endpoints.</summary>
    public static IEndpointRouteBuilder MapVersionsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", context => WriteAsync(context, StatusCodes.Status300MultipleChoices))
            .WithName("ListVersionsRoot").WithSummary("Versions document (300 Multiple Choices)");
        app.MapGet("/versions", context => WriteAsync(context, StatusCodes.Status200OK))
            .WithName("ListVersions").WithSummary("Versions document");
        return app;
    }

    /// <summary>Rewrites <c>/v2.N/</c> to <c>/v2/</c>; answers 300 for other versioned paths.</summary>
    public static IApplicationBuilder UseVersionNegotiation(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var path = context.Request.Path.Value ?? "";
        var segment = path.Split('/', 3) is [_, var first, ..] ? first : "";
        if (segment.Length > 1 && segment[0] == 'v' && char.IsDigit(segment[1]) && segment != "v2")
        {
            if (segment.StartsWith("v2.", StringComparison.Ordinal) && segment.Length > 3 && segment[3..].All(char.IsDigit))
            {
                context.Request.Path = "/v2" + path[(1 + segment.Length)..];
            }
            else
            {
                await WriteAsync(context, StatusCodes.Status300MultipleChoices);
                return;
            }
        }
        await next(context);
    });

    private static async Task WriteAsync(HttpContext context, int status)
    {
        var self = $"{context.Request.Scheme}://{context.Request.Host}/v2/";
        var versions = context.RequestServices.GetService<Grains.Extensions.ImageCache.ImageCache>() is null ? Versions : CachedVersions;
        var body = new { versions = versions.Select(v => new { id = v.Id, status = v.Status, links = new[] { new { rel = "self", href = self } } }) };
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}
