using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;

namespace Glance.Api.Errors;

/// <summary>
/// Error bodies in Glance's JSON shape, <c>{"message", "code": "404 Not Found", "title"}</c>,
/// whatever the client's Accept header (Glance's HTML and text forms are not reproduced:
/// every client we care about reads the status code and JSON).
/// </summary>
public static class ErrorResponses
{
    /// <summary>Writes an error response; the response must not have started.</summary>
    public static async Task WriteAsync(HttpContext context, int status, string message)
    {
        var title = ReasonPhrases.GetReasonPhrase(status);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var body = JsonSerializer.SerializeToUtf8Bytes(new ErrorBody(message, $"{status} {title}", title), ErrorJson.Default.ErrorBody);
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body);
    }

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
