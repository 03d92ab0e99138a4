using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Fluid;

namespace Glance.Grains.Templates;

/// <summary>
/// A template version, parsed and checked: the image (by id or selector), requirements, Heat-typed
/// parameters with constraints, parameter groups, the configuration body, outputs and metadata.
/// Built once per version (versions are immutable); a bad version is a 400 naming the field.
/// </summary>
public sealed partial class TemplateSpec
{
    private static readonly string[] TopLevel = ["image", "requirements", "parameters", "parameter_groups", "configuration", "outputs", "metadata"];

    /// <summary>The image named by id, or null when a selector names it.</summary>
    public Guid? ImageId { get; private init; }

    /// <summary>The selector: <c>tag</c> and image properties (e.g. <c>os_distro</c>), all of which must match.</summary>
    public ImmutableSortedDictionary<string, string> Selector { get; private init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>Least RAM (MiB) the server needs.</summary>
    public long MinRam { get; private init; }

    /// <summary>Least disk (GiB) the server needs.</summary>
    public long MinDisk { get; private init; }

    /// <summary>The image's required <c>architecture</c>, if any.</summary>
    public string? Architecture { get; private init; }

    /// <summary>Image properties that must hold these values.</summary>
    public ImmutableSortedDictionary<string, string> RequiredProperties { get; private init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>The parameters by name.</summary>
    public ImmutableSortedDictionary<string, ParameterSpec> Parameters { get; private init; } = ImmutableSortedDictionary<string, ParameterSpec>.Empty;

    /// <summary>The configuration body (a Liquid template producing #cloud-config).</summary>
    public IFluidTemplate Configuration { get; private init; } = null!;

    /// <summary>Outputs: name to value template.</summary>
    public ImmutableSortedDictionary<string, IFluidTemplate> Outputs { get; private init; } = ImmutableSortedDictionary<string, IFluidTemplate>.Empty;

    /// <summary>The canonical JSON of the version as stored.</summary>
    public string Json { get; private init; } = "{}";

    /// <summary>Parses and checks a version object; 400 naming what is wrong.</summary>
    public static TemplateSpec Parse(string json)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw Bad("version must be a JSON object.");
        }
        catch (JsonException)
        {
            throw Bad("version must be a JSON object.");
        }
        foreach (var (key, _) in root)
        {
            if (!TopLevel.Contains(key))
            {
                throw Bad($"version has an unknown field '{key}' (allowed: {string.Join(", ", TopLevel)}).");
            }
        }
        var (imageId, selector) = ParseImage(Object(root, "image", required: true)!);
        var requirements = Object(root, "requirements", required: false);
        var parameters = ParseParameters(Object(root, "parameters", required: false));
        CheckGroups(root["parameter_groups"], parameters);
        var configuration = Object(root, "configuration", required: true)!;
        Only(configuration, "configuration", "format", "template");
        if (Text(configuration, "format", "configuration") is not "cloud-config")
        {
            throw Bad("configuration.format must be 'cloud-config'.");
        }
        var body = Text(configuration, "template", "configuration") ?? throw Bad("configuration.template is required.");
        if (!body.StartsWith("#cloud-config", StringComparison.Ordinal))
        {
            throw Bad("configuration.template must start with '#cloud-config'.");
        }
        var outputs = ImmutableSortedDictionary.CreateBuilder<string, IFluidTemplate>(StringComparer.Ordinal);
        if (Object(root, "outputs", required: false) is { } outputObject)
        {
            foreach (var (name, node) in outputObject)
            {
                var output = node as JsonObject ?? throw Bad($"outputs.{name} must be an object.");
                Only(output, $"outputs.{name}", "value", "description");
                outputs[name] = TemplateSandbox.Parse(Text(output, "value", $"outputs.{name}") ?? throw Bad($"outputs.{name}.value is required."), $"outputs.{name}.value");
            }
        }
        if (Object(root, "metadata", required: false) is { } metadata)
        {
            Only(metadata, "metadata", "author", "license", "homepage");
            foreach (var (name, _) in metadata)
            {
                Text(metadata, name, "metadata");
            }
        }
        return new TemplateSpec
        {
            ImageId = imageId,
            Selector = selector,
            MinRam = requirements is null ? 0 : Whole(requirements, "min_ram"),
            MinDisk = requirements is null ? 0 : Whole(requirements, "min_disk"),
            Architecture = requirements is null ? null : Text(requirements, "architecture", "requirements"),
            RequiredProperties = requirements is null ? ImmutableSortedDictionary<string, string>.Empty : Strings(requirements, "properties", "requirements.properties"),
            Parameters = parameters,
            Configuration = TemplateSandbox.Parse(body, "configuration.template"),
            Outputs = outputs.ToImmutable(),
            Json = root.ToJsonString(),
        }.Checked(requirements);
    }

    /// <summary>A version based on <paramref name="baseJson"/>: the fields <paramref name="changesJson"/> has replace the base's (EC2's source version).</summary>
    public static string Merge(string baseJson, string changesJson)
    {
        var merged = (JsonObject)JsonNode.Parse(baseJson)!;
        var changes = JsonNode.Parse(changesJson) as JsonObject ?? throw Bad("version must be a JSON object.");
        foreach (var (key, value) in changes.ToList())
        {
            changes.Remove(key);
            merged[key] = value;
        }
        return merged.ToJsonString();
    }

    private TemplateSpec Checked(JsonObject? requirements)
    {
        if (requirements is not null)
        {
            Only(requirements, "requirements", "min_ram", "min_disk", "architecture", "properties");
        }
        return this;
    }

    private static (Guid?, ImmutableSortedDictionary<string, string>) ParseImage(JsonObject image)
    {
        Only(image, "image", "id", "selector");
        var hasId = image.ContainsKey("id");
        var hasSelector = image.ContainsKey("selector");
        if (hasId == hasSelector)
        {
            throw Bad("image must have exactly one of 'id' and 'selector'.");
        }
        if (hasId)
        {
            var text = Text(image, "id", "image");
            return text is not null && Guid.TryParse(text, out var id) ? (id, ImmutableSortedDictionary<string, string>.Empty) : throw Bad("image.id must be a UUID.");
        }
        var selector = Strings(image, "selector", "image.selector");
        return selector.IsEmpty ? throw Bad("image.selector must name a tag or at least one property.") : (null, selector);
    }

    private static ImmutableSortedDictionary<string, ParameterSpec> ParseParameters(JsonObject? parameters)
    {
        var result = ImmutableSortedDictionary.CreateBuilder<string, ParameterSpec>(StringComparer.Ordinal);
        if (parameters is null)
        {
            return result.ToImmutable();
        }
        foreach (var (name, node) in parameters)
        {
            if (!ParameterName().IsMatch(name))
            {
                throw Bad($"Parameter name '{name}' must be letters, digits and '_', starting with a letter.");
            }
            if (name is "size" or "first" or "last" or "empty" or "blank")
            {
                // Liquid reads these as members of the parameters map itself (parameters.size is a count).
                throw Bad($"Parameter name '{name}' is reserved by the template language.");
            }
            result[name] = ParameterSpec.Parse(name, node as JsonObject ?? throw Bad($"parameters.{name} must be an object."));
        }
        return result.ToImmutable();
    }

    private static void CheckGroups(JsonNode? groups, ImmutableSortedDictionary<string, ParameterSpec> parameters)
    {
        if (groups is null)
        {
            return;
        }
        if (groups is not JsonArray array)
        {
            throw Bad("parameter_groups must be a list.");
        }
        var grouped = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in array)
        {
            var group = node as JsonObject ?? throw Bad("each parameter group must be an object.");
            Only(group, "parameter_groups", "label", "description", "parameters");
            Text(group, "label", "parameter_groups");
            Text(group, "description", "parameter_groups");
            if (group["parameters"] is not JsonArray names)
            {
                throw Bad("a parameter group must list its 'parameters'.");
            }
            foreach (var name in names)
            {
                var text = name is JsonValue value && value.TryGetValue<string>(out var s) ? s : throw Bad("parameter_groups lists parameter names (strings).");
                if (!parameters.ContainsKey(text))
                {
                    throw Bad($"parameter_groups names an unknown parameter '{text}'.");
                }
                if (!grouped.Add(text))
                {
                    throw Bad($"parameter '{text}' is in more than one parameter group.");
                }
            }
        }
    }

    internal static JsonObject? Object(JsonObject parent, string name, bool required) => parent[name] switch
    {
        JsonObject value => value,
        null when !parent.ContainsKey(name) && !required => null,
        null when !parent.ContainsKey(name) => throw Bad($"{name} is required."),
        _ => throw Bad($"{name} must be an object."),
    };

    internal static string? Text(JsonObject parent, string name, string where) => parent[name] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        _ => throw Bad($"{where}.{name} must be a string."),
    };

    private static ImmutableSortedDictionary<string, string> Strings(JsonObject parent, string name, string where)
    {
        var map = Object(parent, name, required: false);
        var result = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var (key, _) in map ?? [])
        {
            result[key] = Text(map!, key, where) ?? throw Bad($"{where}.{key} must be a string.");
        }
        return result.ToImmutable();
    }

    private static long Whole(JsonObject parent, string name) => parent[name] switch
    {
        null => 0,
        JsonValue value when value.TryGetValue<long>(out var number) && number >= 0 => number,
        _ => throw Bad($"requirements.{name} must be a non-negative integer."),
    };

    internal static void Only(JsonObject value, string where, params string[] allowed)
    {
        foreach (var (key, _) in value)
        {
            if (!allowed.Contains(key))
            {
                throw Bad($"{where} has an unknown field '{key}' (allowed: {string.Join(", ", allowed)}).");
            }
        }
    }

    internal static GlanceException Bad(string message) => GlanceException.BadRequest(message);

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex ParameterName();
}

/// <summary>Heat's parameter types.</summary>
public enum ParameterType
{
    /// <summary>string</summary>
    String,
    /// <summary>number</summary>
    Number,
    /// <summary>integer</summary>
    Integer,
    /// <summary>boolean</summary>
    Boolean,
    /// <summary>json</summary>
    Json,
    /// <summary>comma_delimited_list</summary>
    CommaDelimitedList,
}

/// <summary>One parameter: Heat's type, constraints, default and whether it is hidden.</summary>
public sealed class ParameterSpec
{
    private static readonly TimeSpan PatternTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>Its name.</summary>
    public required string Name { get; init; }

    /// <summary>Its type.</summary>
    public ParameterType Type { get; init; }

    /// <summary>Hidden (secret): no default, and seen nowhere but in the rendered user_data.</summary>
    public bool Hidden { get; init; }

    /// <summary>The default, already validated; null: the parameter is required.</summary>
    public object? Default { get; private set; }

    private ImmutableArray<Constraint> Constraints { get; init; } = [];

    /// <summary>Parses one parameter; 400 naming it.</summary>
    public static ParameterSpec Parse(string name, JsonObject node)
    {
        TemplateSpec.Only(node, $"parameters.{name}", "type", "label", "description", "default", "hidden", "constraints", "immutable");
        var type = TemplateSpec.Text(node, "type", $"parameters.{name}") switch
        {
            "string" => ParameterType.String,
            "number" => ParameterType.Number,
            "integer" => ParameterType.Integer,
            "boolean" => ParameterType.Boolean,
            "json" => ParameterType.Json,
            "comma_delimited_list" => ParameterType.CommaDelimitedList,
            null => throw TemplateSpec.Bad($"parameters.{name}.type is required."),
            var other => throw TemplateSpec.Bad($"parameters.{name}.type '{other}' is not one of string, number, integer, boolean, json, comma_delimited_list."),
        };
        TemplateSpec.Text(node, "label", $"parameters.{name}");
        TemplateSpec.Text(node, "description", $"parameters.{name}");
        var hidden = node["hidden"] switch
        {
            null => false,
            JsonValue v when v.TryGetValue<bool>(out var b) => b,
            _ => throw TemplateSpec.Bad($"parameters.{name}.hidden must be a boolean."),
        };
        var constraints = ImmutableArray.CreateBuilder<Constraint>();
        if (node["constraints"] is { } list)
        {
            foreach (var item in list as JsonArray ?? throw TemplateSpec.Bad($"parameters.{name}.constraints must be a list."))
            {
                constraints.Add(Constraint.Parse(name, type, item as JsonObject ?? throw TemplateSpec.Bad($"parameters.{name}.constraints holds objects.")));
            }
        }
        var spec = new ParameterSpec { Name = name, Type = type, Hidden = hidden, Constraints = constraints.ToImmutable() };
        if (node.TryGetPropertyValue("default", out var fallback) && fallback is not null)
        {
            if (hidden)
            {
                throw TemplateSpec.Bad($"parameters.{name} is hidden and may not have a default.");
            }
            spec.Default = spec.Validate(JsonSerializer.SerializeToElement(fallback), "default");
        }
        return spec;
    }

    /// <summary>The value of the parameter from its JSON, converted to its type and checked; 400 naming the parameter and the rule.</summary>
    public object Validate(JsonElement value, string what = "value")
    {
        var converted = Convert(value) ?? throw Invalid($"the {what} must be of type {Wire(Type)}");
        foreach (var constraint in Constraints)
        {
            if (constraint.Violation(converted) is { } rule)
            {
                throw Invalid(rule);
            }
        }
        return converted;
    }

    // Never the value itself: a hidden parameter's value must not reach an error message.
    private GlanceException Invalid(string rule) => TemplateSpec.Bad($"Parameter '{Name}' is invalid: {rule}.");

    private object? Convert(JsonElement value) => Type switch
    {
        ParameterType.String => value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
            _ => null,
        },
        ParameterType.Number => Number(value),
        ParameterType.Integer => Number(value) is { } n && n == decimal.Truncate(n) ? n : null,
        ParameterType.Boolean => value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            // Heat's strutils.bool_from_string(strict=True) spellings.
            JsonValueKind.String => value.GetString()!.ToLowerInvariant() switch
            {
                "1" or "t" or "true" or "on" or "y" or "yes" => true,
                "0" or "f" or "false" or "off" or "n" or "no" => false,
                _ => null,
            },
            _ => null,
        },
        ParameterType.Json => value.ValueKind switch
        {
            JsonValueKind.Object or JsonValueKind.Array => Plain(value),
            JsonValueKind.String => ParseJson(value.GetString()!),
            _ => null,
        },
        _ => value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!.Length == 0 ? new List<object?>() : value.GetString()!.Split(',').Select(s => (object?)s.Trim()).ToList(),
            JsonValueKind.Array when value.EnumerateArray().All(i => i.ValueKind == JsonValueKind.String) => value.EnumerateArray().Select(i => (object?)i.GetString()).ToList(),
            _ => null,
        },
    };

    private static decimal? Number(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number when value.TryGetDecimal(out var n) => n,
        JsonValueKind.String when decimal.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) => n,
        _ => null,
    };

    private static object? ParseJson(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind is JsonValueKind.Object or JsonValueKind.Array ? Plain(document.RootElement) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>JSON as plain values (dictionaries, lists, strings, decimals, booleans, null) for the template context.</summary>
    internal static object? Plain(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => value.EnumerateObject().ToDictionary(p => p.Name, p => Plain(p.Value), StringComparer.Ordinal) as IReadOnlyDictionary<string, object?>,
        JsonValueKind.Array => value.EnumerateArray().Select(Plain).ToList(),
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.TryGetDecimal(out var n) ? n : value.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    internal static string Wire(ParameterType type) => type switch
    {
        ParameterType.CommaDelimitedList => "comma_delimited_list",
        _ => type.ToString().ToLowerInvariant(),
    };

    /// <summary>One of Heat's constraints (length, range, modulo, allowed_values, allowed_pattern).</summary>
    private sealed class Constraint
    {
        private string Kind { get; init; } = "";
        private decimal? Min { get; init; }
        private decimal? Max { get; init; }
        private decimal Step { get; init; }
        private decimal Offset { get; init; }
        private ImmutableArray<JsonElement> Values { get; init; } = [];
        private Regex? Pattern { get; init; }
        private string? Description { get; init; }

        public static Constraint Parse(string parameter, ParameterType type, JsonObject node)
        {
            var where = $"parameters.{parameter}.constraints";
            var description = TemplateSpec.Text(node, "description", where);
            var kinds = node.Select(p => p.Key).Where(k => k != "description").ToList();
            if (kinds.Count != 1)
            {
                throw TemplateSpec.Bad($"{where}: each constraint has exactly one of length, range, modulo, allowed_values, allowed_pattern.");
            }
            var kind = kinds[0];
            var applies = kind switch
            {
                "length" => type is ParameterType.String or ParameterType.CommaDelimitedList or ParameterType.Json,
                "range" or "modulo" => type is ParameterType.Number or ParameterType.Integer,
                "allowed_values" => type is not (ParameterType.Json or ParameterType.Boolean),
                "allowed_pattern" => type is ParameterType.String or ParameterType.CommaDelimitedList,
                _ => throw TemplateSpec.Bad($"{where}: unknown constraint '{kind}'."),
            };
            if (!applies)
            {
                throw TemplateSpec.Bad($"{where}: {kind} does not apply to type {Wire(type)}.");
            }
            switch (kind)
            {
                case "length" or "range":
                    var bounds = node[kind] as JsonObject ?? throw TemplateSpec.Bad($"{where}.{kind} must be an object with min and/or max.");
                    TemplateSpec.Only(bounds, $"{where}.{kind}", "min", "max");
                    var (min, max) = (Bound(bounds, "min", where, kind), Bound(bounds, "max", where, kind));
                    if (min is null && max is null || min > max)
                    {
                        throw TemplateSpec.Bad($"{where}.{kind} needs min <= max (at least one of them).");
                    }
                    return new Constraint { Kind = kind, Min = min, Max = max, Description = description };
                case "modulo":
                    var modulo = node[kind] as JsonObject ?? throw TemplateSpec.Bad($"{where}.modulo must be an object with step and offset.");
                    TemplateSpec.Only(modulo, $"{where}.modulo", "step", "offset");
                    var step = Bound(modulo, "step", where, kind) ?? 0;
                    var offset = Bound(modulo, "offset", where, kind) ?? 0;
                    if (step <= 0 || offset < 0 || offset >= step)
                    {
                        throw TemplateSpec.Bad($"{where}.modulo needs step > 0 and 0 <= offset < step.");
                    }
                    return new Constraint { Kind = kind, Step = step, Offset = offset, Description = description };
                case "allowed_values":
                    var values = node[kind] as JsonArray ?? throw TemplateSpec.Bad($"{where}.allowed_values must be a list.");
                    return new Constraint { Kind = kind, Values = [.. values.Select(v => JsonSerializer.SerializeToElement(v))], Description = description };
                default:
                    var pattern = TemplateSpec.Text(node, kind, where) ?? throw TemplateSpec.Bad($"{where}.allowed_pattern must be a string.");
                    try
                    {
                        // Linear-time matching: a hostile pattern or value cannot make a render hang.
                        return new Constraint { Kind = kind, Pattern = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, PatternTimeout), Description = description };
                    }
                    catch (Exception e) when (e is ArgumentException or NotSupportedException)
                    {
                        throw TemplateSpec.Bad($"{where}.allowed_pattern is not a supported regular expression: {e.Message}");
                    }
            }
        }

        private static decimal? Bound(JsonObject node, string name, string where, string kind) => node[name] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<decimal>(out var n) => n,
            _ => throw TemplateSpec.Bad($"{where}.{kind}.{name} must be a number."),
        };

        /// <summary>The rule the value breaks (the constraint's description when it has one), or null.</summary>
        public string? Violation(object value)
        {
            var broken = Kind switch
            {
                "length" => Count(value) is var n && (n < Min || n > Max),
                "range" => (decimal)value is var n && (n < Min || n > Max),
                "modulo" => (decimal)value % Step != Offset,
                "allowed_values" => value is List<object?> items ? items.Any(i => !Allowed(i)) : !Allowed(value),
                _ => value is List<object?> list ? list.Any(i => !FullMatch((string)i!)) : !FullMatch((string)value),
            };
            return !broken ? null : Description ?? Kind switch
            {
                "length" => $"length must be {Range()}",
                "range" => $"value must be {Range()}",
                "modulo" => $"value must be a multiple of {Step} plus {Offset}",
                "allowed_values" => $"allowed_values are {string.Join(", ", Values.Select(v => v.GetRawText()))}",
                _ => $"allowed_pattern is {Pattern}",
            };
        }

        private bool FullMatch(string value)
        {
            var match = Pattern!.Match(value);
            return match.Success && match.Index == 0 && match.Length == value.Length;
        }

        private string Range() => (Min, Max) switch
        {
            ({ } min, { } max) => $"between {min} and {max}",
            ({ } min, null) => $"at least {min}",
            _ => $"at most {Max}",
        };

        private static int Count(object value) => value switch
        {
            string text => new System.Globalization.StringInfo(text).LengthInTextElements,
            List<object?> items => items.Count,
            IReadOnlyDictionary<string, object?> map => map.Count,
            _ => 0,
        };

        private bool Allowed(object? value) => Values.Any(v => value switch
        {
            string text => v.ValueKind == JsonValueKind.String ? v.GetString() == text : v.GetRawText() == text,
            decimal number => v.ValueKind == JsonValueKind.Number ? v.GetDecimal() == number
                : v.ValueKind == JsonValueKind.String && decimal.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n == number,
            _ => false,
        });
    }
}
