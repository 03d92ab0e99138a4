using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Glance.Grains.Images;

namespace Glance.Grains.Properties;

/// <summary>The value type a property definition declares.</summary>
public enum PropertyType
{
    /// <summary>Any string (subject to enum, pattern and max length).</summary>
    String,
    /// <summary>A whole number in decimal notation, e.g. <c>"4"</c> or <c>"-2"</c>.</summary>
    Integer,
    /// <summary>A decimal number, e.g. <c>"1.5"</c> or <c>"2e3"</c>.</summary>
    Number,
    /// <summary><c>"true"</c> or <c>"false"</c> (any letter case).</summary>
    Boolean,
    /// <summary>A JSON array, e.g. <c>"[1, 2]"</c>.</summary>
    Array,
    /// <summary>A JSON object, e.g. <c>"{\"a\": 1}"</c>.</summary>
    Object,
}

/// <summary>
/// An operator's declaration of what values an additional image property (or every property
/// whose name starts with a prefix) may take. Image properties arrive as strings (that is what
/// v2 clients send), so the declared <see cref="Type"/> says how the string is read: integer,
/// number and boolean strings are parsed (invariant culture), array and object strings are
/// parsed as JSON. Constraints that do not apply to the type are refused by <see cref="Problem"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("glance.property-definition")]
public sealed record PropertyDefinition
{
    /// <summary>The longest description accepted.</summary>
    public const int MaxDescriptionLength = 2048;

    /// <summary>The property's exact name, or the name prefix when <see cref="IsPrefix"/> is set.</summary>
    [Id(0)]
    public string Name { get; init; } = "";

    /// <summary>How the value string is read and checked.</summary>
    [Id(1)]
    public PropertyType Type { get; init; } = PropertyType.String;

    /// <summary>True when <see cref="Name"/> is a prefix matching every property that starts with it.</summary>
    [Id(2)]
    public bool IsPrefix { get; init; }

    /// <summary>
    /// The allowed values (string, integer and number types); empty means any. Integer and
    /// number values are compared numerically, strings exactly.
    /// </summary>
    [Id(3)]
    public ImmutableArray<string> Enum { get; init; } = [];

    /// <summary>The smallest allowed value (integer and number types).</summary>
    [Id(4)]
    public double? Minimum { get; init; }

    /// <summary>The largest allowed value (integer and number types).</summary>
    [Id(5)]
    public double? Maximum { get; init; }

    /// <summary>A .NET regular expression a string value must match somewhere (anchor it with ^...$ for the whole value).</summary>
    [Id(6)]
    public string? Pattern { get; init; }

    /// <summary>The most characters the value string may have (string, array and object types).</summary>
    [Id(7)]
    public int? MaxLength { get; init; }

    /// <summary>What the property means, for people and for the image schema.</summary>
    [Id(8)]
    public string? Description { get; init; }

    /// <summary>
    /// True when the definition is a rule: a value outside it is refused (400) and the image schema
    /// publishes its constraints. False when it only describes: its type is how a value that fits
    /// it is stored, anything else is still accepted as a string (as Glance accepts any string),
    /// and the schema shows its description alone. An operator's definition is a rule unless it
    /// says otherwise; the seeded ones only describe.
    /// </summary>
    [Id(9)]
    public bool Enforced { get; init; } = true;

    /// <summary>The regular expression an integer string must match (also advertised in the image schema).</summary>
    public const string IntegerPattern = "^[-+]?[0-9]+$";

    /// <summary>The regular expression a number string must match (also advertised in the image schema).</summary>
    public const string NumberPattern = "^[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?$";

    private static readonly TimeSpan PatternTimeout = TimeSpan.FromMilliseconds(200);

    /// <summary>The wire name of a type (<c>"string"</c>, <c>"integer"</c>, ...).</summary>
    public static string WireName(PropertyType type) => type switch
    {
        PropertyType.String => "string",
        PropertyType.Integer => "integer",
        PropertyType.Number => "number",
        PropertyType.Boolean => "boolean",
        PropertyType.Array => "array",
        PropertyType.Object => "object",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The type with wire name <paramref name="name"/>, if there is one.</summary>
    public static bool TryParseType(string? name, out PropertyType type)
    {
        foreach (var candidate in System.Enum.GetValues<PropertyType>())
        {
            if (WireName(candidate) == name)
            {
                type = candidate;
                return true;
            }
        }
        type = default;
        return false;
    }

    /// <summary>True when this definition applies to the property <paramref name="propertyName"/>.</summary>
    public bool Matches(string propertyName) =>
        IsPrefix ? propertyName.StartsWith(Name, StringComparison.Ordinal) : propertyName == Name;

    /// <summary>
    /// Why the definition itself is unusable (a bad name, a regular expression that does not
    /// compile, minimum above maximum, a constraint the type cannot have), or null when it is fine.
    /// </summary>
    public string? Problem()
    {
        var subject = $"Property definition '{Name}'";
        if (Name.Length == 0 || Name.Length > ImageAttributes.MaxStringLength)
        {
            return $"A property definition's name must be 1 to {ImageAttributes.MaxStringLength} characters long.";
        }
        if (Name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == '/'))
        {
            return $"{subject}: a name may not contain white space, control characters or '/'.";
        }
        if (!IsPrefix && (ImageAttributes.IsBase(Name) || ImageAttributes.Reserved.Contains(Name)))
        {
            return $"{subject}: '{Name}' is an image attribute, not an additional property.";
        }
        if (Name.StartsWith(ImageAttributes.ServicePrefix, StringComparison.Ordinal))
        {
            return $"{subject}: properties starting with '{ImageAttributes.ServicePrefix}' are reserved for the service.";
        }
        if (!System.Enum.IsDefined(Type))
        {
            return $"{subject}: unknown type.";
        }
        var type = WireName(Type);
        var numeric = Type is PropertyType.Integer or PropertyType.Number;
        if (Enum.IsDefault)
        {
            return $"{subject}: enum must be a list (empty for any value).";
        }
        if (!Enum.IsEmpty)
        {
            if (Type is not (PropertyType.String or PropertyType.Integer or PropertyType.Number))
            {
                return $"{subject}: enum applies only to string, integer and number properties, not to {type}.";
            }
            foreach (var value in Enum)
            {
                if (value is null || (numeric && ParseNumber(value) is null))
                {
                    return $"{subject}: enum value '{value}' is not a valid {type}.";
                }
            }
            if (Enum.Distinct(StringComparer.Ordinal).Count() != Enum.Length)
            {
                return $"{subject}: enum values must be distinct.";
            }
        }
        if ((Minimum is not null || Maximum is not null) && !numeric)
        {
            return $"{subject}: minimum and maximum apply only to integer and number properties, not to {type}.";
        }
        if (Minimum is { } min && !double.IsFinite(min) || Maximum is { } max && !double.IsFinite(max))
        {
            return $"{subject}: minimum and maximum must be finite numbers.";
        }
        if (Minimum > Maximum)
        {
            return $"{subject}: minimum {Format(Minimum!.Value)} is greater than maximum {Format(Maximum!.Value)}.";
        }
        if (Pattern is not null)
        {
            if (Type != PropertyType.String)
            {
                return $"{subject}: pattern applies only to string properties, not to {type}.";
            }
            try
            {
                _ = new Regex(Pattern, RegexOptions.None, PatternTimeout);
            }
            catch (ArgumentException e)
            {
                return $"{subject}: pattern '{Pattern}' is not a valid regular expression: {e.Message}";
            }
        }
        if (MaxLength is { } length)
        {
            if (Type is not (PropertyType.String or PropertyType.Array or PropertyType.Object))
            {
                return $"{subject}: maxLength applies only to string, array and object properties, not to {type}.";
            }
            if (length < 1)
            {
                return $"{subject}: maxLength must be at least 1.";
            }
        }
        if (Description is { Length: > MaxDescriptionLength })
        {
            return $"{subject}: the description is longer than {MaxDescriptionLength} characters.";
        }
        return null;
    }

    /// <summary>
    /// Why <paramref name="value"/> is not acceptable for the property <paramref name="propertyName"/>
    /// under this definition, or null when it is. The message names the property, the type and the value,
    /// e.g. <c>Property 'hw_cpu_cores' must be an integer between 1 and 1024: 'many'</c>.
    /// </summary>
    public string? Violation(string propertyName, string value) =>
        IsValid(value) ? null : $"Property '{propertyName}' must be {Requirement()}: '{Shorten(value)}'";

    /// <summary>What a valid value looks like, in words: <c>an integer between 1 and 1024</c>.</summary>
    public string Requirement()
    {
        var parts = new List<string>();
        switch (Type)
        {
            case PropertyType.String:
                parts.Add("a string");
                break;
            case PropertyType.Integer:
            case PropertyType.Number:
                var noun = Type == PropertyType.Integer ? "an integer" : "a number";
                parts.Add((Minimum, Maximum) switch
                {
                    ({ } min, { } max) => $"{noun} between {Format(min)} and {Format(max)}",
                    ({ } min, null) => $"{noun} of at least {Format(min)}",
                    (null, { } max) => $"{noun} of at most {Format(max)}",
                    _ => noun,
                });
                break;
            case PropertyType.Boolean:
                parts.Add("a boolean ('true' or 'false')");
                break;
            case PropertyType.Array:
                parts.Add("a JSON array");
                break;
            case PropertyType.Object:
                parts.Add("a JSON object");
                break;
        }
        if (!Enum.IsDefaultOrEmpty)
        {
            parts.Add($"one of [{string.Join(", ", Enum.Select(e => $"'{e}'"))}]");
        }
        if (Pattern is not null)
        {
            parts.Add($"matching '{Pattern}'");
        }
        if (MaxLength is { } length)
        {
            parts.Add($"of at most {length} characters");
        }
        return string.Join(", ", parts);
    }

    private bool IsValid(string value)
    {
        if (MaxLength is { } length && value.Length > length)
        {
            return false;
        }
        switch (Type)
        {
            case PropertyType.String:
                if (!Enum.IsDefaultOrEmpty && !Enum.Contains(value, StringComparer.Ordinal))
                {
                    return false;
                }
                if (Pattern is not null)
                {
                    try
                    {
                        return Regex.IsMatch(value, Pattern, RegexOptions.None, PatternTimeout);
                    }
                    catch (RegexMatchTimeoutException)
                    {
                        return false;
                    }
                }
                return true;
            case PropertyType.Integer:
            case PropertyType.Number:
                if (ParseNumber(value) is not { } number)
                {
                    return false;
                }
                if (Minimum is { } min && number < min || Maximum is { } max && number > max)
                {
                    return false;
                }
                return Enum.IsDefaultOrEmpty || Enum.Any(e => ParseNumber(e) == number);
            case PropertyType.Boolean:
                return value.Equals("true", StringComparison.OrdinalIgnoreCase)
                    || value.Equals("false", StringComparison.OrdinalIgnoreCase);
            case PropertyType.Array:
            case PropertyType.Object:
                try
                {
                    using var document = JsonDocument.Parse(value);
                    return document.RootElement.ValueKind == (Type == PropertyType.Array ? JsonValueKind.Array : JsonValueKind.Object);
                }
                catch (JsonException)
                {
                    return false;
                }
            default:
                return false;
        }
    }

    /// <summary>The value of an integer or number string, or null when it is not one of this type.</summary>
    private double? ParseNumber(string value)
    {
        if (Type == PropertyType.Integer)
        {
            return Regex.IsMatch(value, IntegerPattern)
                && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)
                    ? integer
                    : null;
        }
        return Regex.IsMatch(value, NumberPattern)
            && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
                ? number
                : null;
    }

    /// <summary>A number as the messages and the schema show it (<c>1024</c>, <c>0.5</c>).</summary>
    public static string Format(double number) => number.ToString("R", CultureInfo.InvariantCulture);

    private static string Shorten(string value) => value.Length > 80 ? value[..80] + "..." : value;
}

/// <summary>
/// An immutable snapshot of the definition catalog, handed to whoever validates property
/// values (the image grain on every write; any other caller that wants to check locally).
/// </summary>
/// <param name="Definitions">Every definition, sorted by name.</param>
[GenerateSerializer, Immutable, Alias("glance.property-definition-set")]
public sealed record PropertyDefinitionSet([property: Id(0)] ImmutableArray<PropertyDefinition> Definitions)
{
    /// <summary>No definitions: every value is accepted.</summary>
    public static PropertyDefinitionSet Empty { get; } = new(ImmutableArray<PropertyDefinition>.Empty);

    /// <summary>
    /// The definition that governs <paramref name="propertyName"/>: the exact-name definition if
    /// there is one, otherwise the longest matching prefix; null when none matches.
    /// </summary>
    public PropertyDefinition? Find(string propertyName)
    {
        PropertyDefinition? best = null;
        foreach (var definition in Definitions)
        {
            if (!definition.Matches(propertyName))
            {
                continue;
            }
            if (!definition.IsPrefix)
            {
                return definition;
            }
            if (best is null || definition.Name.Length > best.Name.Length)
            {
                best = definition;
            }
        }
        return best;
    }

    /// <summary>
    /// Why <paramref name="value"/> may not be stored as <paramref name="propertyName"/>, or null
    /// when it may (also when no definition governs the property).
    /// </summary>
    public string? Violation(string propertyName, string value) => Rule(propertyName)?.Violation(propertyName, value);

    /// <summary>The definition governing <paramref name="propertyName"/> if it is enforced; null when none is.</summary>
    public PropertyDefinition? Rule(string propertyName) => Find(propertyName) is { Enforced: true } rule ? rule : null;
}
