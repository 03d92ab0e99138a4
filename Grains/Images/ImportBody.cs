using System.Buffers;
using System.Text.Json;

namespace Glance.Grains.Images;

/// <summary>
/// An import request body, validated as Glance's <c>_validate_import_body</c> does (400 for a
/// missing method or name, an unknown or disabled method, non-boolean <c>all_stores</c> flags).
/// The store list is only parsed here; whether it names known stores is a 409 the grain raises
/// after its status checks, in Glance's order.
/// </summary>
internal sealed record ImportBody(string Method, string? Uri, string? UriText, ImmutableArray<string> Stores, string Json)
{
    /// <summary>Parses and validates <paramref name="json"/> against the enabled methods.</summary>
    public static ImportBody Parse(string json, ImmutableArray<string> enabledMethods, string defaultStore)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            throw GlanceException.BadRequest("Malformed JSON in request body.");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("method", out var method))
            {
                throw GlanceException.BadRequest("Import request requires a 'method' field.");
            }
            if (method.ValueKind != JsonValueKind.Object || !method.TryGetProperty("name", out var nameElement))
            {
                throw GlanceException.BadRequest("Import request requires a 'name' field.");
            }
            var name = nameElement.ValueKind == JsonValueKind.String ? nameElement.GetString()! : nameElement.GetRawText();
            if (nameElement.ValueKind != JsonValueKind.String || !enabledMethods.Contains(name))
            {
                throw GlanceException.BadRequest($"Unknown import method name '{name}'.");
            }
            foreach (var flag in new[] { "all_stores_must_succeed", "all_stores" })
            {
                if (root.TryGetProperty(flag, out var value) && value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    throw GlanceException.BadRequest($"'{flag}' must be boolean value only");
                }
            }
            string? uri = null, uriText = null;
            if (method.TryGetProperty("uri", out var uriElement))
            {
                uri = uriElement.ValueKind == JsonValueKind.String ? uriElement.GetString() : null;
                uriText = uri ?? uriElement.GetRawText();
            }
            return new ImportBody(name, uri, uriText, ParseStores(root, defaultStore), root.GetRawText());
        }
    }

    private static ImmutableArray<string> ParseStores(JsonElement root, string defaultStore)
    {
        var hasStores = root.TryGetProperty("stores", out var stores);
        if (root.TryGetProperty("all_stores", out var all) && all.ValueKind == JsonValueKind.True)
        {
            return hasStores
                ? throw GlanceException.BadRequest("All_stores parameter can't be used with x-image-meta-store header or stores parameter")
                : [defaultStore];
        }
        if (!hasStores || stores.ValueKind == JsonValueKind.Null)
        {
            return [defaultStore];
        }
        if (stores.ValueKind != JsonValueKind.Array || stores.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.String))
        {
            throw GlanceException.BadRequest("'stores' must be a list of store identifiers.");
        }
        var list = stores.EnumerateArray().Select(s => s.GetString()!).Distinct().ToImmutableArray();
        return list.IsEmpty ? [defaultStore] : list;
    }

    /// <summary>The task input Glance records: <c>{"image_id", "import_req": &lt;the body&gt;, "backend": [stores]}</c>.</summary>
    public string TaskInput(Guid imageId)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("image_id", imageId.ToString());
            writer.WritePropertyName("import_req");
            using (var body = JsonDocument.Parse(Json))
            {
                body.RootElement.WriteTo(writer);
            }
            writer.WriteStartArray("backend");
            foreach (var store in Stores)
            {
                writer.WriteStringValue(store);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
