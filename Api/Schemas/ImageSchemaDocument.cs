using System.Collections.Frozen;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Glance.Grains.Properties;

namespace Glance.Api.Schemas;

/// <summary>
/// <c>/v2/schemas/image</c> with the operator's property definitions merged in, so
/// python-glanceclient checks values before it sends them. v2 clients send every additional
/// property as a string, so each definition becomes a <em>string</em> schema: an enum of
/// strings, a pattern for integers and numbers (the range goes into the description, a string
/// schema cannot carry a minimum), an enum <c>["true", "false"]</c> for booleans. An integer
/// schema type would make <c>glance image-update --property hw_cpu_cores=4</c> fail in the client.
/// Prefix definitions cannot be expressed as properties and are enforced by the service only.
/// </summary>
public static class ImageSchemaDocument
{
    /// <summary>
    /// Names that would become an option glanceclient's image-create or image-update already has
    /// (<c>--file</c>, <c>--property</c>, ...): argparse would refuse the clash and break every
    /// command, so such definitions are enforced by the service but not advertised.
    /// </summary>
    private static readonly FrozenSet<string> ClientOptionNames = new[]
    {
        "help", "hidden", "property", "remove-property", "file", "progress", "store", "stores", "all-stores",
        "allow-failure", "import-method", "uri", "remote-region", "remote-image-id", "remote-service-interface",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly JsonSerializerOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static Cached? _last;

    /// <summary>The base schema (Glance's <c>image.json</c>) with <paramref name="definitions"/> merged in.</summary>
    public static byte[] Build(byte[] baseSchema, ImmutableArray<PropertyDefinition> definitions)
    {
        // A co-hosted silo hands the same immutable array back until the catalog changes.
        if (_last is { } last && last.Definitions == definitions)
        {
            return last.Body;
        }
        var root = JsonNode.Parse(baseSchema)!.AsObject();
        var properties = root["properties"]!.AsObject();
        foreach (var definition in definitions)
        {
            if (definition.IsPrefix || ClientOptionNames.Contains(definition.Name.Replace('_', '-')))
            {
                continue;
            }
            var property = properties[definition.Name] as JsonObject;
            if (property is null)
            {
                property = new JsonObject { ["type"] = "string", ["is_base"] = false };
                properties[definition.Name] = property;
            }
            Merge(property, definition);
        }
        var body = JsonSerializer.SerializeToUtf8Bytes(root, Output);
        _last = new Cached(definitions, body);
        return body;
    }

    /// <summary>The last document built and what it was built from (one reference: swapped atomically).</summary>
    private sealed record Cached(ImmutableArray<PropertyDefinition> Definitions, byte[] Body);

    private static void Merge(JsonObject property, PropertyDefinition definition)
    {
        if (!definition.Enforced)
        {
            // A definition that only describes publishes no constraint Glance's own schema lacks.
            if (definition.Description is { } text)
            {
                property["description"] = text;
            }
            return;
        }
        var nullable = property["type"] is JsonArray types && types.Any(t => t?.GetValue<string>() == "null");
        var description = definition.Description ?? property["description"]?.GetValue<string>() ?? "";
        switch (definition.Type)
        {
            case PropertyType.String:
                if (!definition.Enum.IsDefaultOrEmpty)
                {
                    property["enum"] = Strings(definition.Enum, nullable);
                }
                if (definition.Pattern is { } pattern)
                {
                    property["pattern"] = pattern;
                }
                break;
            case PropertyType.Integer:
            case PropertyType.Number:
                property["pattern"] = definition.Type == PropertyType.Integer
                    ? PropertyDefinition.IntegerPattern
                    : PropertyDefinition.NumberPattern;
                if (!definition.Enum.IsDefaultOrEmpty)
                {
                    property["enum"] = Strings(definition.Enum, nullable);
                }
                description = Sentence(description, $"Must be {definition.Requirement()}.");
                break;
            case PropertyType.Boolean:
                property["enum"] = Strings(["true", "false"], nullable);
                break;
            case PropertyType.Array:
            case PropertyType.Object:
                description = Sentence(description, $"Must be {definition.Requirement()}.");
                break;
        }
        if (definition.MaxLength is { } maxLength)
        {
            property["maxLength"] = maxLength;
        }
        property["description"] = description;
    }

    private static JsonArray Strings(IEnumerable<string> values, bool withNull)
    {
        var array = new JsonArray();
        if (withNull)
        {
            array.Add(null);
        }
        foreach (var value in values)
        {
            array.Add(value);
        }
        return array;
    }

    private static string Sentence(string description, string addition)
    {
        var text = description.TrimEnd();
        return text.Length == 0 ? addition : $"{text}{(text.EndsWith('.') ? "" : ".")} {addition}";
    }
}
