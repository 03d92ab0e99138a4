using System.Text.Json;
using System.Text.Json.Nodes;
using Glance.Api.Hosting;
using Glance.Api.Schemas;
using Glance.Grains.Metadefs;

namespace Glance.Api.Metadefs;

/// <summary>
/// Reads metadefs request bodies as Glance does: read-only attributes first (403), then the
/// published JSON Schema (400, <see cref="SchemaCheck"/>), then the model.
/// </summary>
public static class MetadefBodies
{
    private static readonly SchemaCheck NamespaceSchema = Published("namespace");
    private static readonly SchemaCheck ObjectSchema = Published("object");
    private static readonly SchemaCheck PropertySchema = Published("property");
    private static readonly SchemaCheck TagSchema = Published("tag");
    private static readonly SchemaCheck AssociationSchema = Published("resource_type");

    // What POST .../tags is held to (Glance's get_schema_for_list, which it does not publish).
    private static readonly SchemaCheck TagListSchema = new("tags", JsonNode.Parse("""
        {"name": "tags", "additionalProperties": false,
         "properties": {"tags": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}},
                                                            "required": ["name"], "additionalProperties": false}}}}
        """)!.AsObject());

    /// <summary>The attributes of Glance's property model: what a property inside a namespace or object may carry.</summary>
    private static readonly HashSet<string> PropertyAttributes =
    [
        "name", "type", "title", "description", "operators", "default", "readonly", "minimum", "maximum", "enum", "pattern",
        "minLength", "maxLength", "confidential", "items", "uniqueItems", "minItems", "maxItems", "additionalItems",
    ];

    private static SchemaCheck Published(string name)
    {
        var document = JsonNode.Parse(SchemasApi.Load($"metadefs-{name}"))!.AsObject();
        return new SchemaCheck(document["name"]!.GetValue<string>(), document);
    }

    /// <summary>The request's JSON body; none is 400 <c>Body expected in request.</c>.</summary>
    public static async Task<JsonDocument> ReadAsync(HttpRequest request) =>
        await RequestBody.ReadJsonAsync(request) ?? throw GlanceException.BadRequest("Body expected in request.");

    /// <summary>A namespace create body.</summary>
    public static MetadefNamespace Namespace(JsonElement body)
    {
        Check(body, NamespaceSchema, "self", "schema", "created_at", "updated_at");
        var draft = new MetadefNamespace
        {
            Namespace = body.GetProperty("namespace").GetString()!,
            DisplayName = Text(body, "display_name"),
            Description = Text(body, "description"),
            Visibility = Text(body, "visibility") ?? MetadefVisibility.Private,
            Protected = Flag(body, "protected") ?? false,
            Owner = Text(body, "owner"),
        };
        if (body.TryGetProperty("resource_type_associations", out var associations))
        {
            draft = draft with
            {
                ResourceTypes = [.. associations.EnumerateArray().Select(a =>
                {
                    Require(a, "name", AssociationSchema.Name);
                    return AssociationFields(a);
                })],
            };
        }
        if (body.TryGetProperty("properties", out var properties))
        {
            draft = draft with { Properties = [.. Properties(properties, validate: false)] };
        }
        if (body.TryGetProperty("objects", out var objects))
        {
            draft = draft with
            {
                Objects = [.. objects.EnumerateArray().Select(o =>
                {
                    Require(o, "name", ObjectSchema.Name);
                    return ObjectFields(o, validate: false);
                })],
            };
        }
        if (body.TryGetProperty("tags", out var tags))
        {
            draft = draft with
            {
                Tags = [.. tags.EnumerateArray().Select(t =>
                {
                    Require(t, "name", TagSchema.Name);
                    return new MetadefTag { Name = t.GetProperty("name").GetString()! };
                })],
            };
        }
        return draft;
    }

    /// <summary>A namespace update body (contents in it are ignored, as Glance ignores them).</summary>
    public static NamespaceUpdate NamespaceUpdate(JsonElement body)
    {
        Check(body, NamespaceSchema, "self", "schema", "created_at", "updated_at");
        return new NamespaceUpdate
        {
            Namespace = body.GetProperty("namespace").GetString()!,
            DisplayName = Text(body, "display_name"),
            Description = Text(body, "description"),
            Visibility = Text(body, "visibility"),
            Protected = Flag(body, "protected"),
            Owner = Text(body, "owner"),
        };
    }

    /// <summary>An object create or update body.</summary>
    public static MetadefObject Object(JsonElement body)
    {
        Check(body, ObjectSchema, "self", "schema", "created_at", "updated_at");
        return ObjectFields(body, validate: true);
    }

    /// <summary>A property create or update body (<c>name</c> required).</summary>
    public static MetadefProperty Property(JsonElement body)
    {
        Check(body, PropertySchema, "created_at", "updated_at");
        return PropertyFields(body.GetProperty("name").GetString()!, body) with { NameInSchema = true };
    }

    /// <summary>A resource type association body.</summary>
    public static MetadefAssociation Association(JsonElement body)
    {
        Check(body, AssociationSchema, "created_at", "updated_at");
        return AssociationFields(body);
    }

    /// <summary>A tag update body: the new name.</summary>
    public static string TagUpdate(JsonElement body)
    {
        Check(body, TagSchema, "created_at", "updated_at");
        return body.GetProperty("name").GetString()!;
    }

    /// <summary>A create-tags body: the names, in order.</summary>
    public static ImmutableArray<string> Tags(JsonElement body)
    {
        Check(body, TagListSchema, "created_at", "updated_at");
        return body.TryGetProperty("tags", out var tags)
            ? [.. tags.EnumerateArray().Select(t => t.GetProperty("name").GetString()!)]
            : [];
    }

    /// <summary>A tag name from the path, held to the tag schema (at most 80 characters).</summary>
    public static string TagName(string name)
    {
        TagSchema.Validate(JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["name"] = name }));
        return name;
    }

    private static void Check(JsonElement body, SchemaCheck schema, params string[] readOnly)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw GlanceException.BadRequest($"Provided object does not match schema '{schema.Name}': {SchemaCheck.Repr(body)} is not of type 'object'");
        }
        foreach (var name in readOnly)
        {
            if (body.TryGetProperty(name, out _))
            {
                throw GlanceException.Forbidden($"Attribute '{name}' is read-only.");
            }
        }
        schema.Validate(body);
    }

    /// <summary>A name the namespace schema does not require inside its lists, but the model does.</summary>
    private static void Require(JsonElement item, string name, string schema)
    {
        if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
        {
            throw GlanceException.BadRequest($"Provided object does not match schema '{schema}': '{name}' is a required property");
        }
    }

    private static MetadefAssociation AssociationFields(JsonElement body) => new()
    {
        Name = body.GetProperty("name").GetString()!,
        Prefix = Text(body, "prefix"),
        PropertiesTarget = Text(body, "properties_target"),
    };

    private static MetadefObject ObjectFields(JsonElement body, bool validate) => new()
    {
        Name = body.GetProperty("name").GetString()!,
        Description = Text(body, "description"),
        Required = body.TryGetProperty("required", out var required) ? [.. required.EnumerateArray().Select(r => r.GetString()!)] : null,
        Properties = body.TryGetProperty("properties", out var properties) ? [.. Properties(properties, validate)] : null,
    };

    /// <summary>A dictionary of properties; the last of a repeated name wins (as in Python), in the order names first appear.</summary>
    private static List<MetadefProperty> Properties(JsonElement properties, bool validate)
    {
        var result = new List<MetadefProperty>();
        foreach (var field in properties.EnumerateObject())
        {
            if (validate)
            {
                PropertySchema.Validate(field.Value, "name");
            }
            else if (field.Value.EnumerateObject().Select(p => p.Name).Where(n => !PropertyAttributes.Contains(n)).ToList() is { Count: > 0 } unknown)
            {
                // Glance's namespace schema lets these through and then fails (500); its property schema refuses them.
                throw GlanceException.BadRequest(
                    $"Provided object does not match schema '{PropertySchema.Name}': Additional properties are not allowed ({string.Join(", ", unknown.Select(SchemaCheck.Repr))} {(unknown.Count == 1 ? "was" : "were")} unexpected)");
            }
            var property = PropertyFields(field.Name, field.Value) with { NameInSchema = field.Value.TryGetProperty("name", out _) };
            var at = result.FindIndex(p => p.Name == field.Name);
            if (at >= 0)
            {
                result[at] = property;
            }
            else
            {
                result.Add(property);
            }
        }
        return result;
    }

    private static MetadefProperty PropertyFields(string name, JsonElement body) => new()
    {
        Name = name,
        Type = Text(body, "type"),
        Title = Text(body, "title"),
        Description = Text(body, "description"),
        Operators = Strings(body, "operators"),
        DefaultJson = body.TryGetProperty("default", out var value) ? Default(value) : null,
        Readonly = Flag(body, "readonly"),
        Minimum = Number(body, "minimum"),
        Maximum = Number(body, "maximum"),
        Enum = Strings(body, "enum"),
        Pattern = Text(body, "pattern"),
        MinLength = Whole(body, "minLength"),
        MaxLength = Whole(body, "maxLength"),
        Confidential = Flag(body, "confidential"),
        Items = body.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Object
            ? new MetadefItems { Type = Text(items, "type"), Enum = Strings(items, "enum") }
            : null,
        UniqueItems = Flag(body, "uniqueItems"),
        MinItems = Whole(body, "minItems"),
        MaxItems = Whole(body, "maxItems"),
        AdditionalItems = Flag(body, "additionalItems"),
    };

    /// <summary>
    /// A default as Glance keeps it (its model's field is text): a string as is, a number as its
    /// text, a boolean as Python writes it (<c>"True"</c>), anything else as <c>null</c>; no default for null.
    /// </summary>
    private static string? Default(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetRawText(),
        JsonValueKind.Number => JsonSerializer.Serialize(value.GetRawText()),
        JsonValueKind.True => "\"True\"",
        JsonValueKind.False => "\"False\"",
        JsonValueKind.Null => null,
        _ => "null",
    };

    private static string? Text(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool? Flag(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;

    private static ImmutableList<string>? Strings(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? [.. value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText())]
            : null;

    private static double? Number(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Number)
        {
            return null;
        }
        return value.TryGetDouble(out var number) && double.IsFinite(number)
            ? number
            : throw GlanceException.BadRequest($"Provided object does not match schema 'property': {value.GetRawText()} is too large");
    }

    private static int? Whole(JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Number)
        {
            return null;
        }
        return value.TryGetInt32(out var number)
            ? number
            : throw GlanceException.BadRequest($"Provided object does not match schema 'property': {value.GetRawText()} is too large");
    }
}
