using Microsoft.AspNetCore.Http.Features;

namespace Glance.Api.Hosting;

/// <summary>
/// Names that end a path (tags, property names) read from the request target as sent, decoded once.
/// Kestrel decodes every escape of the path except <c>%2F</c>, so the route value of
/// <c>tags/a%2Fb</c> is <c>a%2Fb</c> while a tag <c>a/b</c> set in a body is <c>a/b</c>: the two
/// could never meet. Decoding the raw segment once makes <c>a%2Fb</c> name the tag <c>a/b</c>
/// (and <c>a%252Fb</c> the tag <c>a%2Fb</c>), the same way for every route that ends in a name.
/// </summary>
public static class RawPath
{
    /// <summary>The request's last path segment, percent-decoded exactly once.</summary>
    public static string LastSegment(HttpContext context)
    {
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var end = target.IndexOfAny(['?', '#']);
        var path = end < 0 ? target : target[..end];
        if (path.EndsWith('/'))
        {
            path = path[..^1];
        }
        return Uri.UnescapeDataString(path[(path.LastIndexOf('/') + 1)..]);
    }
}
