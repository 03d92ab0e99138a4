using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;

namespace Glance.Api.Errors;

/// <summary>
/// Error bodies in Glance's JSON shape, <c>{"message", "code": "404 Not Found", "title"}</c>,
/// except when the Accept header prefers <c>text/html</c> the way webob negotiates it
/// (<c>*/*</c> included): then Glance's HTML page. python-glanceclient sends <c>Accept: */*</c>
/// and cannot parse the JSON shape (it expects nested objects and dies with
/// "'str' object has no attribute 'get'"); it strips the tags of the HTML one.
/// Glance's <c>text/plain</c> form (no Accept header) is not reproduced: JSON instead.
/// </summary>
public static class ErrorResponses
{
    /// <summary>Writes an error response; the response must not have started.</summary>
    public static async Task WriteAsync(HttpContext context, int status, string message)
    {
        var title = ReasonPhrases.GetReasonPhrase(status);
        context.Response.StatusCode = status;
        byte[] body;
        if (PrefersHtml(context.Request))
        {
            context.Response.ContentType = "text/html; charset=UTF-8";
            body = System.Text.Encoding.UTF8.GetBytes(
                $"<html>\n <head>\n  <title>{status} {title}</title>\n </head>\n <body>\n  <h1>{status} {title}</h1>\n  {HtmlEscape(message)}<br /><br />\n\n\n\n </body>\n</html>");
        }
        else
        {
            context.Response.ContentType = "application/json";
            body = JsonSerializer.SerializeToUtf8Bytes(new ErrorBody(message, $"{status} {title}", title), ErrorJson.Default.ErrorBody);
        }
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body);
    }

    /// <summary>
    /// webob's choice between the offers <c>text/html</c> and <c>application/json</c>: each gets the
    /// quality of the most specific Accept range matching it; the higher wins, HTML on a tie.
    /// </summary>
    private static bool PrefersHtml(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        if (accept is null || accept.Count == 0)
        {
            return false;
        }
        var html = Quality(accept, "text", "html");
        return html > 0 && html >= Quality(accept, "application", "json");
    }

    private static double Quality(IList<Microsoft.Net.Http.Headers.MediaTypeHeaderValue> accept, string type, string subtype)
    {
        var best = -1;
        var quality = 0.0;
        foreach (var range in accept)
        {
            var rangeType = range.Type.Value ?? "";
            var rangeSubtype = range.SubType.Value ?? "";
            int specificity;
            if (rangeType == "*" && rangeSubtype == "*")
            {
                specificity = 0;
            }
            else if (rangeType.Equals(type, StringComparison.OrdinalIgnoreCase) && rangeSubtype == "*")
            {
                specificity = 1;
            }
            else if (rangeType.Equals(type, StringComparison.OrdinalIgnoreCase) && rangeSubtype.Equals(subtype, StringComparison.OrdinalIgnoreCase))
            {
                specificity = 2;
            }
            else
            {
                continue;
            }
            if (specificity > best)
            {
                best = specificity;
                quality = range.Quality ?? 1.0;
            }
        }
        return quality;
    }

    /// <summary>Python's <c>html.escape(s, quote=True)</c>, which webob applies to the message.</summary>
    private static string HtmlEscape(string s) => s
        .Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;").Replace("'", "&#x27;");

    /// <summary>The default message for a status with no more specific one.</summary>
    public static string DefaultMessage(int status) => status switch
    {
        404 => "The resource could not be found.",
        405 => "The method specified is not allowed for this resource.",
        401 => "The request you have made requires authentication.",
        413 => "The request entity is too large.",
        _ => ReasonPhrases.GetReasonPhrase(status),
    };
}

/// <summary>The JSON error body.</summary>
public sealed record ErrorBody(string Message, string Code, string Title);

[System.Text.Json.Serialization.JsonSerializable(typeof(ErrorBody))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class ErrorJson : System.Text.Json.Serialization.JsonSerializerContext;
