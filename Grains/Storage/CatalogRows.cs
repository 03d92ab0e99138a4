using System.Text.Json;
using Glance.Grains.Catalog;
using Glance.Grains.Properties;

namespace Glance.Grains.Storage;

/// <summary>
/// A catalog entry as the stores keep it: a core (the entry without its additional properties)
/// and one row per property, so that changing a property rewrites that row and the core, not the
/// set (up to 128 KiB). Entries stored before the split carry their properties in the core;
/// <see cref="Join"/> shows them, and the next write moves them to rows.
/// </summary>
public static class CatalogRows
{
    /// <summary>One additional property: its flat value and, when restricted, who may see it.</summary>
    public sealed record Property(string Value, PropertyAccess? Access)
    {
        /// <summary>The access as stored (JSON), or null for a public property.</summary>
        public string? AccessJson => Access is null ? null : JsonSerializer.Serialize(Access, StorageJson.Options);

        /// <summary>The property read back from its stored columns.</summary>
        public static Property Of(string value, string? accessJson) =>
            new(value, accessJson is null ? null : JsonSerializer.Deserialize<PropertyAccess>(accessJson, StorageJson.Options));
    }

    /// <summary>The core's JSON (no properties) and the properties by name.</summary>
    public static (string CoreJson, IReadOnlyDictionary<string, Property> Properties) Split(CatalogEntry entry)
    {
        var image = entry.Image;
        var properties = new Dictionary<string, Property>(image.Properties.Count, StringComparer.Ordinal);
        foreach (var (name, value) in image.Properties)
        {
            properties[name] = new Property(value, image.PropertyAccess.GetValueOrDefault(name));
        }
        var core = entry with { Image = image with { Properties = NoProperties, PropertyAccess = NoAccess } };
        return (JsonSerializer.Serialize(core, StorageJson.Options), properties);
    }

    /// <summary>The entry from its core's JSON and its property rows (which win over properties a legacy core still holds).</summary>
    public static CatalogEntry Join(string coreJson, IEnumerable<KeyValuePair<string, Property>> rows)
    {
        var core = JsonSerializer.Deserialize<CatalogEntry>(coreJson, StorageJson.Options)!;
        var values = NoProperties.ToBuilder();
        values.AddRange(core.Image.Properties);
        var access = core.Image.PropertyAccess.ToBuilder();
        foreach (var (name, row) in rows)
        {
            values[name] = row.Value;
            if (row.Access is null)
            {
                access.Remove(name);
            }
            else
            {
                access[name] = row.Access;
            }
        }
        return core with { Image = core.Image with { Properties = values.ToImmutable(), PropertyAccess = access.ToImmutable() } };
    }

    private static readonly ImmutableSortedDictionary<string, string> NoProperties =
        ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);

    private static readonly ImmutableDictionary<string, PropertyAccess> NoAccess = ImmutableDictionary<string, PropertyAccess>.Empty;
}
