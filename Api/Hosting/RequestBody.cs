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

    /// <summary>
    /// The body as JSON, or null when there is none. The size cap holds while reading, whatever the
    /// framing (a chunked body has no Content-Length to check up front): past it, 413.
    /// </summary>
    public static async Task<JsonDocument?> ReadJsonAsync(HttpRequest request)
    {
        if (!HasBody(request))
        {
            return null;
        }
        if (request.ContentLength > MaxJsonBytes)
        {
            throw TooLarge();
        }
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxJsonBytes;
        }
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
        }
        catch (JsonException)
        {
            throw Malformed();
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge();
        }
        if (!HasValidText(document.RootElement))
        {
            document.Dispose();
            throw Malformed();
        }
        return document;
    }

    /// <summary>
    /// True when every string and property name decodes: the parser accepts invalid UTF-8 inside a
    /// string (bytes C3 28) and lone surrogate escapes (<c>"\ud800"</c>), which fail later, wherever the
    /// text is first read. Checked once here, so every route answers 400 and no rule sees bad text.
    /// </summary>
    private static bool HasValidText(JsonElement element)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    _ = element.GetString();
                    return true;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        if (!HasValidText(item))
                        {
                            return false;
                        }
                    }
                    return true;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        _ = property.Name;
                        if (!HasValidText(property.Value))
                        {
                            return false;
                        }
                    }
                    return true;
                default:
                    return true;
            }
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static GlanceException Malformed() => GlanceException.BadRequest("Malformed JSON in request body.");

    private static GlanceException TooLarge() => GlanceException.TooLarge("The request body is too large.");

    /// <summary>Marks an endpoint as taking no body: a request with one gets 400.</summary>
    public static TBuilder RejectsBody<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
            HasBody(context.HttpContext.Request)
                ? throw GlanceException.BadRequest("A body is not expected with this request.")
                : await next(context));
}
