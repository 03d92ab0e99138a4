using System.Text.Json;

namespace Glance.Grains.Recovery;

/// <summary>
/// The few fields of a stored template state the repair compares with the template index
/// (<see cref="Templates.TemplateState"/>'s JSON), read without loading the grain.
/// </summary>
internal sealed record TemplateStateDocument(bool Created, bool Deleted, string? Owner, long Version)
{
    public static TemplateStateDocument Parse(BinaryData json)
    {
        using var document = JsonDocument.Parse(json.ToMemory());
        var root = document.RootElement;
        return new TemplateStateDocument(
            root.TryGetProperty("createdAt", out var created) && created.ValueKind == JsonValueKind.String,
            root.TryGetProperty("deleted", out var deleted) && deleted.ValueKind == JsonValueKind.True,
            root.TryGetProperty("owner", out var owner) && owner.ValueKind == JsonValueKind.String ? owner.GetString() : null,
            root.TryGetProperty("version", out var version) && version.TryGetInt64(out var v) ? v : 0);
    }
}
