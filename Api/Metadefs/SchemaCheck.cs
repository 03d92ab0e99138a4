using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Glance.Api.Metadefs;

/// <summary>
/// Checks a request body against one of the JSON Schemas the service publishes under
/// <c>/v2/schemas/metadefs/</c>, as Glance does with python-jsonschema (draft 4): the schema a
/// client downloads is the one its request is held to. Only the keywords those schemas use are
/// read (type, enum, properties, additionalProperties, required, items, uniqueItems, minItems,
/// minimum, maximum, minLength, maxLength, <c>$ref</c> into definitions, allOf). The message is
/// jsonschema's for the error it would pick (the shallowest, first in schema order), e.g.
/// <c>'secret' is not one of ['public', 'private']</c>.
/// </summary>
public sealed class SchemaCheck(string name, JsonObject schema)
{
    /// <summary>The schema's name (<c>namespace</c>, <c>property</c>, ...), as the message names it.</summary>
    public string Name { get; } = name;

    /// <summary>
    /// Throws 400 <c>Provided object does not match schema '...': reason</c> when
    /// <paramref name="instance"/> breaks the schema; <paramref name="optional"/> are required
    /// properties this use does not require.
    /// </summary>
    public void Validate(JsonElement instance, params string[] optional)
    {
        var errors = new List<(int Depth, string Message)>();
        Check(schema, instance, 0, errors, optional);
        if (errors.Count > 0)
        {
            var best = errors[0];
            foreach (var error in errors)
            {
                if (error.Depth < best.Depth)
                {
                    best = error;
                }
            }
            throw GlanceException.BadRequest($"Provided object does not match schema '{Name}': {best.Message}");
        }
    }

    private void Check(JsonObject node, JsonElement instance, int depth, List<(int, string)> errors, string[] optional)
    {
        if (node["$ref"] is JsonValue reference)
        {
            // Draft 4: a $ref stands for the whole schema.
            Check(Resolve(reference.GetValue<string>()), instance, depth, errors, []);
            return;
        }
        foreach (var (keyword, value) in node)
        {
            switch (keyword)
            {
                case "type":
                    var types = value is JsonArray many ? many.Select(t => t!.GetValue<string>()).ToList() : [value!.GetValue<string>()];
                    if (!types.Any(t => IsType(instance, t)))
                    {
                        errors.Add((depth, $"{Repr(instance)} is not of type {string.Join(", ", types.Select(t => Repr(t)))}"));
                    }
                    break;
                case "enum" when value is JsonArray allowed:
                    if (!allowed.Any(a => JsonNode.DeepEquals(a, JsonNode.Parse(instance.GetRawText()))))
                    {
                        errors.Add((depth, $"{Repr(instance)} is not one of {Repr(JsonSerializer.SerializeToElement(allowed))}"));
                    }
                    break;
                case "properties" when value is JsonObject properties && instance.ValueKind == JsonValueKind.Object:
                    foreach (var (property, subschema) in properties)
                    {
                        if (instance.TryGetProperty(property, out var item))
                        {
                            Check(subschema!.AsObject(), item, depth + 1, errors, []);
                        }
                    }
                    break;
                case "additionalProperties" when instance.ValueKind == JsonValueKind.Object:
                    var known = node["properties"] as JsonObject;
                    var extras = instance.EnumerateObject().Where(p => known is null || !known.ContainsKey(p.Name)).ToList();
                    if (value is JsonValue flag && flag.GetValue<bool>() == false && extras.Count > 0)
                    {
                        errors.Add((depth, $"Additional properties are not allowed ({string.Join(", ", extras.Select(e => Repr(e.Name)))} {(extras.Count == 1 ? "was" : "were")} unexpected)"));
                    }
                    else if (value is JsonObject extraSchema)
                    {
                        foreach (var extra in extras)
                        {
                            Check(extraSchema, extra.Value, depth + 1, errors, []);
                        }
                    }
                    break;
                case "required" when value is JsonArray required && instance.ValueKind == JsonValueKind.Object:
                    foreach (var property in required.Select(r => r!.GetValue<string>()))
                    {
                        if (!optional.Contains(property) && !instance.TryGetProperty(property, out _))
                        {
                            errors.Add((depth, $"{Repr(property)} is a required property"));
                        }
                    }
                    break;
                case "items" when value is JsonObject itemSchema && instance.ValueKind == JsonValueKind.Array:
                    foreach (var item in instance.EnumerateArray())
                    {
                        Check(itemSchema, item, depth + 1, errors, []);
                    }
                    break;
                case "uniqueItems" when value is JsonValue unique && unique.GetValue<bool>() && instance.ValueKind == JsonValueKind.Array:
                    var items = instance.EnumerateArray().Select(i => JsonNode.Parse(i.GetRawText())).ToList();
                    if (items.Where((a, i) => items.Skip(i + 1).Any(b => JsonNode.DeepEquals(a, b))).Any())
                    {
                        errors.Add((depth, $"{Repr(instance)} has non-unique elements"));
                    }
                    break;
                case "minItems" when instance.ValueKind == JsonValueKind.Array && instance.GetArrayLength() < value!.GetValue<int>():
                    errors.Add((depth, $"{Repr(instance)} is too short"));
                    break;
                case "maxLength" when instance.ValueKind == JsonValueKind.String && Length(instance) > value!.GetValue<int>():
                    errors.Add((depth, $"{Repr(instance)} is too long"));
                    break;
                case "minLength" when instance.ValueKind == JsonValueKind.String && Length(instance) < value!.GetValue<int>():
                    errors.Add((depth, $"{Repr(instance)} is too short"));
                    break;
                case "minimum" when IsNumber(instance) && instance.GetDouble() < value!.GetValue<double>():
                    errors.Add((depth, $"{Repr(instance)} is less than the minimum of {Repr(JsonSerializer.SerializeToElement(value))}"));
                    break;
                case "maximum" when IsNumber(instance) && instance.GetDouble() > value!.GetValue<double>():
                    errors.Add((depth, $"{Repr(instance)} is greater than the maximum of {Repr(JsonSerializer.SerializeToElement(value))}"));
                    break;
                case "allOf" when value is JsonArray all:
                    foreach (var part in all)
                    {
                        Check(part!.AsObject(), instance, depth, errors, []);
                    }
                    break;
            }
        }
    }

    private JsonObject Resolve(string reference)
    {
        const string Prefix = "#/definitions/";
        return reference.StartsWith(Prefix, StringComparison.Ordinal) && schema["definitions"]?[reference[Prefix.Length..]] is JsonObject target
            ? target
            : throw new InvalidOperationException($"Schema {Name} has no {reference}.");
    }

    // Python counts code points.
    private static int Length(JsonElement text) => text.GetString()!.EnumerateRunes().Count();

    private static bool IsNumber(JsonElement value) => value.ValueKind == JsonValueKind.Number;

    private static bool IsType(JsonElement value, string type) => type switch
    {
        "string" => value.ValueKind == JsonValueKind.String,
        // Draft 4, as Python reads JSON: 1 is an integer, 1.0 and 1e3 are not.
        "integer" => value.ValueKind == JsonValueKind.Number && value.GetRawText().All(c => char.IsAsciiDigit(c) || c == '-'),
        "number" => value.ValueKind == JsonValueKind.Number,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "array" => value.ValueKind == JsonValueKind.Array,
        "object" => value.ValueKind == JsonValueKind.Object,
        "null" => value.ValueKind == JsonValueKind.Null,
        _ => true,
    };

    /// <summary>A JSON value as Python's <c>repr</c> shows what <c>json.loads</c> made of it.</summary>
    public static string Repr(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => Repr(value.GetString()!),
        JsonValueKind.Null => "None",
        JsonValueKind.True => "True",
        JsonValueKind.False => "False",
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.Array => "[" + string.Join(", ", value.EnumerateArray().Select(Repr)) + "]",
        JsonValueKind.Object => "{" + string.Join(", ", value.EnumerateObject().Select(p => $"{Repr(p.Name)}: {Repr(p.Value)}")) + "}",
        _ => value.GetRawText(),
    };

    /// <summary>Python's <c>repr</c> of a string: single quotes unless it has one and no double quote.</summary>
    public static string Repr(string text)
    {
        var quote = text.Contains('\'') && !text.Contains('"') ? '"' : '\'';
        var result = new StringBuilder().Append(quote);
        foreach (var rune in text.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case '\\': result.Append(@"\\"); break;
                case '\n': result.Append(@"\n"); break;
                case '\r': result.Append(@"\r"); break;
                case '\t': result.Append(@"\t"); break;
                default:
                    if (rune.Value == quote)
                    {
                        result.Append('\\').Append(quote);
                    }
                    else if (rune.Value < 0x20 || rune.Value == 0x7f)
                    {
                        result.Append(CultureInfo.InvariantCulture, $"\\x{rune.Value:x2}");
                    }
                    else
                    {
                        result.Append(rune.ToString());
                    }
                    break;
            }
        }
        return result.Append(quote).ToString();
    }
}
