using System.Text.Json;
using Glance.Grains.Images;

namespace Glance.Grains.Recovery;

/// <summary>
/// The few fields of a stored image state the repair needs to decide, read from the state's JSON
/// without loading the grain (the same document both profiles store, <see cref="Storage.StorageJson"/>).
/// </summary>
internal sealed record ImageStateDocument(ImageStatus? Status, string? Owner, long Version, bool UploadInFlight, bool ImportInFlight, bool HoldsData,
    string? FormerOwner = null)
{
    /// <summary>Every data key the state names: its data, its staged data, an upload's and an import's target and source.</summary>
    public IReadOnlySet<string> Keys { get; init; } = new HashSet<string>();

    public static ImageStateDocument Parse(BinaryData json)
    {
        using var document = JsonDocument.Parse(json.ToMemory());
        var root = document.RootElement;
        string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        bool Present(string name) => root.TryGetProperty(name, out var v) && v.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        void Key(JsonElement parent, string name)
        {
            if (parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { } key)
            {
                keys.Add(key);
            }
        }
        Key(root, "dataKey");
        Key(root, "stagedKey");
        foreach (var pending in new[] { "upload", "import" })
        {
            if (root.TryGetProperty(pending, out var inFlight) && inFlight.ValueKind == JsonValueKind.Object)
            {
                Key(inFlight, "dataKey");
                Key(inFlight, "sourceKey");
            }
        }
        return new ImageStateDocument(
            Enum.TryParse<ImageStatus>(Text("status"), out var status) ? status : null,
            Text("owner"),
            root.TryGetProperty("version", out var version) && version.TryGetInt64(out var v) ? v : 0,
            Present("upload"),
            Present("import"),
            Present("dataKey") || Present("stagedKey"),
            Text("formerOwner"))
        {
            Keys = keys,
        };
    }
}
