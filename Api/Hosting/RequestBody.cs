using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace Glance.Api.Hosting;

/// <summary>
/// Glance's request-body rules: JSON bodies are parsed whatever their Content-Type,
/// malformed JSON is a 400, and routes that take no body refuse one with a 400.
/// </summary>
public static class RequestBody
{
    /// <summary>Largest JSON body accepted (metadata only; image data never comes this way).</summary>
    private const int MaxJsonBytes = 1 << 20;

    /// <summary>True when the request carries a body (Content-Length &gt; 0 or chunked).</summary>
    public static bool HasBody(HttpRequest request) =>
        request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.ContentLength > 0;

    /// <summary>The body as JSON, or null when there is none.</summary>
    public static async Task<JsonDocument?> ReadJsonAsync(HttpRequest request)
    {
        if (!HasBody(request))
        {
            return null;
        }
        if (request.ContentLength > MaxJsonBytes)
        {
            throw GlanceException.TooLarge("The request body is too large.");
        }
        try
        {
            return await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
        }
        catch (JsonException)
        {
            throw GlanceException.BadRequest("Malformed JSON in request body.");
        }
    }

    /// <summary>Marks an endpoint as taking no body: a request with one gets 400.</summary>
    public static TBuilder RejectsBody<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
            HasBody(context.HttpContext.Request)
                ? throw GlanceException.BadRequest("A body is not expected with this request.")
                : await next(context));
}
