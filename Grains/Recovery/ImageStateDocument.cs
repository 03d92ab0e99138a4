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
    public static ImageStateDocument Parse(BinaryData json)
    {
        using var document = JsonDocument.Parse(json.ToMemory());
        var root = document.RootElement;
        string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        bool Present(string name) => root.TryGetProperty(name, out var v) && v.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined);
        return new ImageStateDocument(
            Enum.TryParse<ImageStatus>(Text("status"), out var status) ? status : null,
            Text("owner"),
            root.TryGetProperty("version", out var version) && version.TryGetInt64(out var v) ? v : 0,
            Present("upload"),
            Present("import"),
            Present("dataKey") || Present("stagedKey"),
            Text("formerOwner"));
    }
}
