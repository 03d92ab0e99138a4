using System.Text.Json;

namespace Glance.Grains.Recovery;

/// <summary>
/// The few fields of a stored task state the repair compares with the task index
/// (<see cref="Tasks.TaskGrainState"/>'s JSON), read without loading the grain.
/// </summary>
internal sealed record TaskStateDocument(bool Exists, bool Finished, string? Owner, DateTimeOffset? ExpiresAt, long Version)
{
    public static TaskStateDocument Parse(BinaryData json)
    {
        using var document = JsonDocument.Parse(json.ToMemory());
        var root = document.RootElement;
        var version = root.TryGetProperty("version", out var v) && v.TryGetInt64(out var n) ? n : 0;
        if (!root.TryGetProperty("task", out var task) || task.ValueKind != JsonValueKind.Object)
        {
            return new TaskStateDocument(false, false, null, null, version);
        }
        string? Text(string name) => task.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        return new TaskStateDocument(
            true,
            Text("status") is nameof(ImageTaskStatus.Success) or nameof(ImageTaskStatus.Failure),
            Text("owner"),
            task.TryGetProperty("expiresAt", out var e) && e.ValueKind == JsonValueKind.String && e.TryGetDateTimeOffset(out var expires) ? expires : null,
            version);
    }
}
