using System.Text.Json;
using System.Text.Json.Serialization;

namespace Glance.Grains.Storage;

/// <summary>
/// How state is written to disk: JSON, camelCase, enums by name. No type names are stored,
/// so renaming a class or assembly does not orphan stored state (ORLEANS-NOTES G6).
/// </summary>
public static class StorageJson
{
    /// <summary>The options every store uses.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };
}
