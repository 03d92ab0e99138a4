using System.Text.Json;

namespace Glance.Api.Images;

/// <summary>
/// Reads a PATCH body in either of Glance's media types into patch operations:
/// v2.1 (RFC 6902 subset: <c>{"op","path","value"}</c>) and v2.0 (<c>{"replace": "/name", "value"}</c>).
/// Only the document's syntax is checked here; what the operations may do is the grain's call.
/// </summary>
public static class PatchDocument
{
    /// <summary>The current media type.</summary>
    public const string V21 = "application/openstack-images-v2.1-json-patch";

    /// <summary>The deprecated media type tempest still sends.</summary>
    public const string V20 = "application/openstack-images-v2.0-json-patch";

    private static readonly string[] Ops = ["add", "remove", "replace"];

    /// <summary>Parses the document; 400 for anything malformed.</summary>
    public static ImmutableArray<PatchOperation> Parse(JsonDocument? document, bool v20)
    {
        if (document?.RootElement is not { ValueKind: JsonValueKind.Array } changes)
        {
            throw GlanceException.BadRequest("Request body must be a JSON array of operation objects.");
        }
        var operations = ImmutableArray.CreateBuilder<PatchOperation>();
        foreach (var change in changes.EnumerateArray())
        {
            if (change.ValueKind != JsonValueKind.Object)
            {
                throw GlanceException.BadRequest("Operations must be JSON objects.");
            }
            var (op, pointer) = v20 ? ReadV20(change) : ReadV21(change);
            var attribute = Decode(pointer);
            string? value = null;
            if (op != "remove")
            {
                value = change.TryGetProperty("value", out var v)
                    ? v.GetRawText()
                    : throw GlanceException.BadRequest("Operation objects must contain exactly one member named \"value\".");
            }
            var kind = op switch
            {
                "add" => v20 ? PatchOp.AddNew : PatchOp.Add,
                "replace" => PatchOp.Replace,
                _ => PatchOp.Remove,
            };
            operations.Add(new PatchOperation(kind, attribute, value));
        }
        return operations.ToImmutable();
    }

    private static (string Op, string Pointer) ReadV21(JsonElement change)
    {
        if (!change.TryGetProperty("op", out var op) || op.ValueKind != JsonValueKind.String || !Ops.Contains(op.GetString()))
        {
            throw GlanceException.BadRequest($"Invalid operation: `{(op.ValueKind switch { JsonValueKind.Undefined => "", JsonValueKind.String => op.GetString(), _ => op.GetRawText() })}`. It must be one of the following: add, remove, replace.");
        }
        if (!change.TryGetProperty("path", out var path) || path.ValueKind != JsonValueKind.String)
        {
            throw GlanceException.BadRequest("Unable to find 'path' in JSON Schema change.");
        }
        return (op.GetString()!, path.GetString()!);
    }

    private static (string Op, string Pointer) ReadV20(JsonElement change)
    {
        var found = Ops.Where(o => change.TryGetProperty(o, out _)).ToArray();
        if (found.Length != 1)
        {
            throw GlanceException.BadRequest("Operation objects must contain only one member named \"add\", \"remove\", or \"replace\".");
        }
        var path = change.GetProperty(found[0]);
        return path.ValueKind == JsonValueKind.String
            ? (found[0], path.GetString()!)
            : throw GlanceException.BadRequest("Unable to find 'path' in JSON Schema change.");
    }

    /// <summary>Decodes a one-segment JSON pointer (<c>~1</c> is '/', <c>~0</c> is '~').</summary>
    private static string Decode(string pointer)
    {
        var invalid = GlanceException.BadRequest($"Invalid JSON pointer for this resource: '{pointer}'");
        // "/locations" and "/locations/<index or ->" (glance location-add/-delete) name the image's
        // locations, which the image grain refuses as Glance does when it does not show them.
        if (pointer == "/" + ImageAttributes.Locations || pointer.StartsWith("/" + ImageAttributes.Locations + "/", StringComparison.Ordinal))
        {
            return ImageAttributes.Locations;
        }
        if (pointer.Length < 2 || pointer[0] != '/' || pointer.IndexOf('/', 1) >= 0)
        {
            throw invalid;
        }
        var segment = pointer[1..];
        for (var i = segment.IndexOf('~'); i >= 0; i = segment.IndexOf('~', i + 1))
        {
            if (i + 1 >= segment.Length || segment[i + 1] is not ('0' or '1'))
            {
                throw invalid;
            }
        }
        return segment.Replace("~1", "/").Replace("~0", "~");
    }
}
