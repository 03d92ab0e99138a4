using System.Text.Json;

namespace Glance.Grains.Images;

/// <summary>
/// Validates and applies one attribute value (JSON) to an image state, with Glance's
/// error codes: 403 for read-only and reserved names, 400 for values that break the schema.
/// Shared by create and update so both paths apply the same rules.
/// </summary>
internal static class ImageSchema
{
    /// <summary>Throws 403 when the caller may never write <paramref name="attribute"/>.</summary>
    public static void EnsureWritable(string attribute)
    {
        if (ImageAttributes.Reserved.Contains(attribute) || attribute.StartsWith(ImageAttributes.ServicePrefix, StringComparison.Ordinal))
        {
            throw GlanceException.Forbidden($"Attribute '{attribute}' is reserved.");
        }
        if (ImageAttributes.ReadOnly.Contains(attribute))
        {
            throw GlanceException.Forbidden($"Attribute '{attribute}' is read-only.");
        }
    }

    /// <summary>
    /// Sets the base attribute <paramref name="attribute"/> to the JSON value on <paramref name="state"/>
    /// (additional properties go to the property set, see <see cref="PropertyText"/>).
    /// </summary>
    public static void Apply(ImageState state, string attribute, string valueJson, Caller caller)
    {
        EnsureWritable(attribute);
        using var document = Parse(valueJson);
        var value = document.RootElement;
        switch (attribute)
        {
            case "name":
                state.Name = NullableString(attribute, value, ImageAttributes.MaxStringLength);
                break;
            case "visibility":
                var text = NullableString(attribute, value, null);
                if (!WireNames.TryParse(text, out ImageVisibility visibility))
                {
                    throw Mismatch($"'{text}' is not one of ['community', 'public', 'private', 'shared']");
                }
                if (visibility == ImageVisibility.Public && !caller.IsAdmin && state.Visibility != ImageVisibility.Public)
                {
                    throw GlanceException.Forbidden("You are not authorized to complete publicize_image action.");
                }
                state.Visibility = visibility;
                break;
            case "protected":
                state.Protected = Boolean(attribute, value);
                break;
            case "os_hidden":
                state.OsHidden = Boolean(attribute, value);
                break;
            case "min_disk":
                state.MinDisk = NonNegative(attribute, value);
                break;
            case "min_ram":
                state.MinRam = NonNegative(attribute, value);
                break;
            case "container_format":
                state.ContainerFormat = Format(attribute, value, ImageAttributes.ContainerFormats);
                break;
            case "disk_format":
                state.DiskFormat = Format(attribute, value, ImageAttributes.DiskFormats);
                break;
            case "owner":
                var owner = NullableString(attribute, value, ImageAttributes.MaxStringLength);
                if (!caller.IsAdmin && owner != state.Owner)
                {
                    throw GlanceException.Forbidden("Owner can't be updated by non admin.");
                }
                state.Owner = owner;
                break;
            case "tags":
                state.Tags = Tags(value);
                break;
            default:
                throw new InvalidOperationException($"'{attribute}' is not a base attribute.");
        }
    }

    /// <summary>
    /// Validates an additional property written the v2 way (a JSON string, or null where the built-in
    /// rules of <see cref="PropertySchema"/> allow it) and returns its text (null stored as "", as Glance
    /// renders it). Types and the operator's definitions are checked by the property set.
    /// </summary>
    public static string PropertyText(string name, string valueJson)
    {
        EnsureWritable(name);
        if (name.Length > ImageAttributes.MaxStringLength || name.Length == 0)
        {
            throw Mismatch($"Property name '{name}' must be 1 to {ImageAttributes.MaxStringLength} characters long");
        }
        using var document = Parse(valueJson);
        var value = document.RootElement;
        string? text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Null => null,
            _ => throw Mismatch($"{value.GetRawText()} is not of type 'string' in '{name}'"),
        };
        if (PropertySchema.Violation(name, text) is { } violation)
        {
            throw Mismatch(violation);
        }
        return text ?? "";
    }

    /// <summary>Checks a name used as an additional property through the property API (403 reserved, 400 base or bad length).</summary>
    public static void EnsurePropertyName(string name)
    {
        EnsureWritable(name);
        if (ImageAttributes.IsBase(name))
        {
            throw GlanceException.BadRequest($"'{name}' is an image attribute, not an additional property.");
        }
        if (name.Length > ImageAttributes.MaxStringLength || name.Length == 0)
        {
            throw Mismatch($"Property name '{name}' must be 1 to {ImageAttributes.MaxStringLength} characters long");
        }
    }

    /// <summary>
    /// Refuses a patch of <c>/locations</c> with Glance's 403 and message: the service never shows an
    /// image's locations (Glance's default, show_multiple_locations false), so clients may not set them.
    /// </summary>
    public static void EnsureNotLocations(PatchOperation operation)
    {
        if (operation.Attribute == ImageAttributes.Locations)
        {
            var verb = operation.Op switch { PatchOp.Remove => "remove", PatchOp.Replace => "update", _ => "add" };
            throw GlanceException.Forbidden($"It's not allowed to {verb} locations if locations are invisible.");
        }
    }

    /// <summary>Checks a tag's length (Glance: 1..255 characters).</summary>
    public static void EnsureValidTag(string tag)
    {
        if (tag.Length > ImageAttributes.MaxStringLength)
        {
            throw GlanceException.BadRequest($"Tag '{tag[..20]}...' is longer than {ImageAttributes.MaxStringLength} characters.");
        }
    }

    private static JsonDocument Parse(string json)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            throw GlanceException.BadRequest("Malformed JSON in attribute value.");
        }
    }

    private static GlanceException Mismatch(string detail) =>
        GlanceException.BadRequest($"Provided object does not match schema 'image': {detail}");

    private static string? NullableString(string attribute, JsonElement value, int? maxLength)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                var text = value.GetString()!;
                if (maxLength is { } max && text.Length > max)
                {
                    throw Mismatch($"'{text}' is too long in '{attribute}'");
                }
                return text;
            default:
                throw Mismatch($"{value.GetRawText()} is not of type 'null', 'string' in '{attribute}'");
        }
    }

    private static bool Boolean(string attribute, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Mismatch($"{value.GetRawText()} is not of type 'boolean' in '{attribute}'"),
    };

    private static long NonNegative(string attribute, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
        {
            throw Mismatch($"{value.GetRawText()} is not of type 'integer' in '{attribute}'");
        }
        if (number < 0)
        {
            throw Mismatch($"{number} is less than the minimum of 0 in '{attribute}'");
        }
        return number;
    }

    private static string? Format(string attribute, JsonElement value, ImmutableArray<string> allowed)
    {
        var text = NullableString(attribute, value, null);
        if (text is not null && !allowed.Contains(text))
        {
            throw Mismatch($"'{text}' is not one of [{string.Join(", ", allowed.Select(a => $"'{a}'"))}, None] in '{attribute}'");
        }
        return text;
    }

    private static SortedSet<string> Tags(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw Mismatch($"{value.GetRawText()} is not of type 'array' in 'tags'");
        }
        var tags = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw Mismatch($"{item.GetRawText()} is not of type 'string' in 'tags'");
            }
            var tag = item.GetString()!;
            if (tag.Length > ImageAttributes.MaxStringLength)
            {
                throw Mismatch($"'{tag}' is too long in 'tags'");
            }
            tags.Add(tag);
        }
        return tags;
    }
}
