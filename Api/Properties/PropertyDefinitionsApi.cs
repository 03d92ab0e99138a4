using System.Text.Json;
using Glance.Api.Hosting;
using Glance.Api.Identity;
using Glance.Api.Images;
using Glance.Grains.Properties;

namespace Glance.Api.Properties;

/// <summary>
/// <c>/v2/property-definitions</c>: the operator's typed property definitions (anyone reads,
/// admins write). The catalog and its rules live in <see cref="IPropertyDefinitionsGrain"/>.
/// </summary>
public static class PropertyDefinitionsApi
{
    /// <summary>Maps the list, show, define (PUT) and delete endpoints.</summary>
    public static IEndpointRouteBuilder MapPropertyDefinitionsApi(this IEndpointRouteBuilder app)
    {
        var definitions = app.MapGroup("/v2/property-definitions").WithTags("Property definitions");
        definitions.MapGet("", ListAsync).RejectsBody().WithName("ListPropertyDefinitions").WithSummary("List the typed property definitions");
        definitions.MapGet("{name}", ShowAsync).RejectsBody().WithName("ShowPropertyDefinition").WithSummary("Show one property definition");
        definitions.MapPut("{name}", DefineAsync).WithName("DefineProperty").WithSummary("Create (201) or replace (200) a property definition (admin)");
        definitions.MapDelete("{name}", DeleteAsync).RejectsBody().WithName("DeletePropertyDefinition").WithSummary("Delete a property definition (admin, 204)");
        return app;
    }

    private static async Task ListAsync(HttpContext context, IGrainFactory grains)
    {
        await ImageJson.WriteListAsync(context, "definitions", await grains.PropertyDefinitions().ListAsync(), Write);
    }

    private static async Task ShowAsync(HttpContext context, string name, IGrainFactory grains)
    {
        var definition = await grains.PropertyDefinitions().GetAsync(name);
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w => Write(w, definition));
    }

    private static async Task DefineAsync(HttpContext context, string name, IGrainFactory grains)
    {
        using var body = await RequestBody.ReadJsonAsync(context.Request)
            ?? throw GlanceException.BadRequest("Body expected in request.");
        var definition = Parse(name, body.RootElement);
        var created = await grains.PropertyDefinitions().DefineAsync(context.Caller(), definition);
        if (created)
        {
            context.Response.Headers.Location =
                $"{context.Request.Scheme}://{context.Request.Host}/v2/property-definitions/{Uri.EscapeDataString(name)}";
        }
        await ImageJson.WriteBodyAsync(context, created ? StatusCodes.Status201Created : StatusCodes.Status200OK, w => Write(w, definition));
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, string name, IGrainFactory grains)
    {
        await grains.PropertyDefinitions().RemoveAsync(context.Caller(), name);
        return TypedResults.NoContent();
    }

    /// <summary>A definition as JSON: name, type and prefix always; the constraints that are set.</summary>
    private static void Write(Utf8JsonWriter w, PropertyDefinition definition)
    {
        w.WriteStartObject();
        w.WriteString("name", definition.Name);
        w.WriteString("type", PropertyDefinition.WireName(definition.Type));
        w.WriteBoolean("prefix", definition.IsPrefix);
        w.WriteBoolean("enforced", definition.Enforced);
        if (!definition.Enum.IsDefaultOrEmpty)
        {
            w.WriteStartArray("enum");
            foreach (var value in definition.Enum)
            {
                w.WriteStringValue(value);
            }
            w.WriteEndArray();
        }
        if (definition.Minimum is { } minimum)
        {
            w.WriteNumber("minimum", minimum);
        }
        if (definition.Maximum is { } maximum)
        {
            w.WriteNumber("maximum", maximum);
        }
        if (definition.Pattern is { } pattern)
        {
            w.WriteString("pattern", pattern);
        }
        if (definition.MaxLength is { } maxLength)
        {
            w.WriteNumber("max_length", maxLength);
        }
        if (definition.Description is { } description)
        {
            w.WriteString("description", description);
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// The PUT body: <c>{"type", "enum", "minimum", "maximum", "pattern", "max_length",
    /// "description", "prefix", "enforced"}</c> (only <c>type</c> is required; <c>name</c>, if given, must match the path).
    /// </summary>
    private static PropertyDefinition Parse(string name, JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw GlanceException.BadRequest("Request body must be a JSON object.");
        }
        var definition = new PropertyDefinition { Name = name };
        var hasType = false;
        foreach (var field in body.EnumerateObject())
        {
            var value = field.Value;
            if (value.ValueKind == JsonValueKind.Null && field.Name is not ("name" or "type"))
            {
                continue;
            }
            switch (field.Name)
            {
                case "name":
                    if (value.ValueKind != JsonValueKind.String || value.GetString() != name)
                    {
                        throw GlanceException.BadRequest($"The name in the body must be the name in the path ('{name}').");
                    }
                    break;
                case "type":
                    if (!PropertyDefinition.TryParseType(value.ValueKind == JsonValueKind.String ? value.GetString() : null, out var type))
                    {
                        throw GlanceException.BadRequest(
                            $"Invalid type {value.GetRawText()}: use one of string, integer, number, boolean, array, object.");
                    }
                    definition = definition with { Type = type };
                    hasType = true;
                    break;
                case "enum":
                    if (value.ValueKind != JsonValueKind.Array
                        || value.EnumerateArray().Any(v => v.ValueKind is not (JsonValueKind.String or JsonValueKind.Number)))
                    {
                        throw GlanceException.BadRequest("'enum' must be a list of strings or numbers.");
                    }
                    definition = definition with
                    {
                        Enum = [.. value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText())],
                    };
                    break;
                case "minimum":
                    definition = definition with { Minimum = Number(field.Name, value) };
                    break;
                case "maximum":
                    definition = definition with { Maximum = Number(field.Name, value) };
                    break;
                case "pattern":
                    definition = definition with { Pattern = Text(field.Name, value) };
                    break;
                case "max_length":
                    definition = definition with
                    {
                        MaxLength = value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var length)
                            ? length
                            : throw GlanceException.BadRequest("'max_length' must be an integer."),
                    };
                    break;
                case "description":
                    definition = definition with { Description = Text(field.Name, value) };
                    break;
                case "prefix":
                    definition = definition with { IsPrefix = Boolean(field.Name, value) };
                    break;
                case "enforced":
                    definition = definition with { Enforced = Boolean(field.Name, value) };
                    break;
                default:
                    throw GlanceException.BadRequest($"Unknown field '{field.Name}' in a property definition.");
            }
        }
        return hasType ? definition : throw GlanceException.BadRequest("A property definition needs a 'type'.");
    }

    private static bool Boolean(string field, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw GlanceException.BadRequest($"'{field}' must be true or false."),
    };

    private static double Number(string field, JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number)
            ? number
            : throw GlanceException.BadRequest($"'{field}' must be a number.");

    private static string Text(string field, JsonElement value) =>
        value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw GlanceException.BadRequest($"'{field}' must be a string.");
}
