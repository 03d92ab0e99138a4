using System.Text.Json;
using Glance.Api.Hosting;
using Glance.Api.Identity;
using Glance.Api.Images;
using Glance.Grains.Properties;

namespace Glance.Api.Properties;

/// <summary>
/// <c>/v2/images/{id}/properties</c>: an image's typed properties one at a time. The rules
/// (visibility, protection, types, definitions, If-Match) live in the image grain and its property set.
/// </summary>
public static class ImagePropertiesApi
{
    /// <summary>Maps list, show, put and delete.</summary>
    public static IEndpointRouteBuilder MapImagePropertiesApi(this IEndpointRouteBuilder app)
    {
        var properties = app.MapGroup("/v2/images/{id}/properties").WithTags("Image properties");
        properties.MapGet("", ListAsync).RejectsBody().WithName("ListImageProperties").WithSummary("List the image's properties the caller may see");
        properties.MapGet("{name}", ShowAsync).RejectsBody().WithName("ShowImageProperty").WithSummary("Show one property (ETag header)");
        properties.MapPut("{name}", PutAsync).WithName("PutImageProperty").WithSummary("Create (201) or replace (200) one property; If-Match for optimistic concurrency (412)");
        properties.MapDelete("{name}", DeleteAsync).RejectsBody().WithName("DeleteImageProperty").WithSummary("Delete one property (204)");
        return app;
    }

    private static async Task ListAsync(HttpContext context, string id, IGrainFactory grains)
    {
        await ImageJson.WriteListAsync(context, "properties", await grains.Image(id).ListPropertiesAsync(context.Caller()), Write);
    }

    private static async Task ShowAsync(HttpContext context, string id, IGrainFactory grains)
    {
        var name = RawPath.LastSegment(context);
        var property = await grains.Image(id).GetPropertyAsync(context.Caller(), name);
        context.Response.Headers.ETag = Quote(property.ETag);
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w => Write(w, property));
    }

    private static async Task PutAsync(HttpContext context, string id, IGrainFactory grains)
    {
        var name = RawPath.LastSegment(context);
        var image = grains.Image(id);
        using var body = await RequestBody.ReadJsonAsync(context.Request)
            ?? throw GlanceException.BadRequest("Body expected in request.");
        var write = Parse(body.RootElement);
        var (property, created) = await image.SetPropertyAsync(context.Caller(), name, write, IfMatch(context.Request));
        context.Response.Headers.ETag = Quote(property.ETag);
        if (created)
        {
            context.Response.Headers.Location =
                $"{context.Request.Scheme}://{context.Request.Host}/v2/images/{id}/properties/{Uri.EscapeDataString(name)}";
        }
        await ImageJson.WriteBodyAsync(context, created ? StatusCodes.Status201Created : StatusCodes.Status200OK, w => Write(w, property));
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, string id, IGrainFactory grains)
    {
        var name = RawPath.LastSegment(context);
        await grains.Image(id).RemovePropertyAsync(context.Caller(), name, IfMatch(context.Request));
        return TypedResults.NoContent();
    }

    /// <summary>The If-Match ETag without quotes (or <c>*</c>); null when absent. Several tags are not supported (400).</summary>
    private static string? IfMatch(HttpRequest request)
    {
        var header = request.Headers.IfMatch.ToString().Trim();
        if (header.Length == 0)
        {
            return null;
        }
        if (header.Contains(','))
        {
            throw GlanceException.BadRequest("If-Match must name exactly one ETag.");
        }
        if (header.StartsWith("W/", StringComparison.Ordinal))
        {
            header = header[2..];
        }
        return header.Trim('"');
    }

    private static string Quote(string etag) => $"\"{etag}\"";

    /// <summary>A property with all its attributes; the value as its JSON type.</summary>
    private static void Write(Utf8JsonWriter w, ImageProperty property)
    {
        w.WriteStartObject();
        w.WriteString("name", property.Name);
        w.WritePropertyName("value");
        w.WriteRawValue(property.ValueJson, skipInputValidation: false);
        w.WriteString("type", property.Type);
        w.WriteString("owner", property.Owner);
        w.WriteString("visibility", property.Visibility);
        w.WriteBoolean("protected", property.Protected);
        w.WriteString("description", property.Description);
        w.WriteString("created_at", ImageJson.Timestamp(property.CreatedAt));
        w.WriteString("updated_at", ImageJson.Timestamp(property.UpdatedAt));
        w.WriteString("etag", property.ETag);
        w.WriteEndObject();
    }

    /// <summary>The PUT body: <c>{"value", "type", "visibility", "protected", "description"}</c>; only value is required.</summary>
    private static PropertyWrite Parse(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw GlanceException.BadRequest("Request body must be a JSON object.");
        }
        string? valueJson = null;
        string? type = null, visibility = null, description = null;
        bool? isProtected = null;
        foreach (var field in body.EnumerateObject())
        {
            var value = field.Value;
            switch (field.Name)
            {
                case "value":
                    valueJson = value.ValueKind == JsonValueKind.Null
                        ? throw GlanceException.BadRequest("'value' may not be null.")
                        : value.GetRawText();
                    break;
                case "type":
                    type = Text(field.Name, value);
                    break;
                case "visibility":
                    visibility = Text(field.Name, value);
                    if (visibility is not null && !PropertyVisibility.IsValid(visibility))
                    {
                        throw GlanceException.BadRequest($"Invalid visibility '{visibility}': use public, private or admin.");
                    }
                    break;
                case "protected":
                    isProtected = value.ValueKind switch
                    {
                        JsonValueKind.True => true,
                        JsonValueKind.False => false,
                        JsonValueKind.Null => null,
                        _ => throw GlanceException.BadRequest("'protected' must be true or false."),
                    };
                    break;
                case "description":
                    description = Text(field.Name, value);
                    break;
                case "name" or "owner" or "created_at" or "updated_at" or "etag":
                    // Set by the service; tolerated so a GET body can be edited and PUT back.
                    break;
                default:
                    throw GlanceException.BadRequest($"Unknown field '{field.Name}' in a property.");
            }
        }
        return valueJson is null
            ? throw GlanceException.BadRequest("A property needs a 'value'.")
            : new PropertyWrite(valueJson, type, visibility, isProtected, description);
    }

    private static string? Text(string field, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Null => null,
        _ => throw GlanceException.BadRequest($"'{field}' must be a string."),
    };
}
