using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;

namespace Glance.Api.Errors;

/// <summary>
/// Error bodies in Glance's JSON shape, <c>{"message", "code": "404 Not Found", "title"}</c>,
/// whatever the Accept header, with one exception: python-glanceclient. It cannot read that
/// JSON shape (its exc.from_response expects nested objects and dies with "'str' object has
/// no attribute 'get'"), and the real Glance never sends it JSON: glanceclient asks for
/// <c>*/*</c> and gets webob's HTML page. So glanceclient (by its User-Agent) gets that page,
/// and prints "HTTP 403 Forbidden: &lt;message&gt;" exactly as it does against Glance.
/// </summary>
public static class ErrorResponses
{
    // Quotes and apostrophes unescaped, as Glance's json.dumps(ensure_ascii=False) writes them.
    private static readonly ErrorJson ReadableJson = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>Writes an error response; the response must not have started.</summary>
    public static async Task WriteAsync(HttpContext context, int status, string message)
    {
        var title = Title(status);
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
            body = JsonSerializer.SerializeToUtf8Bytes(new ErrorBody(message, $"{status} {title}", title), ReadableJson.ErrorBody);
        }
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body);
    }

    /// <summary>python-glanceclient, which needs Glance's HTML error page (see the class comment).</summary>
    private static bool PrefersHtml(HttpRequest request) =>
        request.Headers.UserAgent.ToString().StartsWith("python-glanceclient", StringComparison.Ordinal);

    /// <summary>Python's <c>html.escape(s, quote=True)</c>, which webob applies to the message.</summary>
    private static string HtmlEscape(string s) => s
        .Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;").Replace("'", "&#x27;");

    /// <summary>The title webob (so Glance) gives a status, where it differs from the RFC 9110 reason phrase.</summary>
    private static string Title(int status) => status switch
    {
        413 => "Request Entity Too Large",
        416 => "Request Range Not Satisfiable",
        _ => ReasonPhrases.GetReasonPhrase(status),
    };

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
