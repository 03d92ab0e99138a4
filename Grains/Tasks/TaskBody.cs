using System.Text.Json;

namespace Glance.Grains.Tasks;

/// <summary>
/// The body of <c>POST /v2/tasks</c>, validated as Glance's <c>tasks.RequestDeserializer.create</c>
/// does: <c>type</c> and <c>input</c> required, then the task schema (no other attribute; each of
/// the schema's attributes of its type; <c>type</c> one of import, api_image_import).
/// </summary>
/// <param name="Type">The task type.</param>
/// <param name="InputJson">The input as given (an object, or <c>null</c>).</param>
internal sealed record TaskBody(string Type, string InputJson)
{
    private const string SchemaError = "Provided object does not match schema 'task': ";
    private const string UuidPattern = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$";
    private static readonly string[] Types = [ImportMethods.LegacyTaskType, ImportMethods.TaskType];
    private static readonly string[] Statuses = ["pending", "processing", "success", "failure"];
    private static readonly string[] Objects = ["input", "result"];
    private static readonly string[] Texts = ["owner", "message", "image_id", "request_id", "user_id", "created_at", "updated_at", "self", "schema"];

    /// <summary>Parses and validates the body (400 with Glance's messages).</summary>
    public static TaskBody Parse(string? json)
    {
        if (json is null)
        {
            throw GlanceException.BadRequest("Body expected in request.");
        }
        using var document = ParseJson(json);
        var root = document.RootElement;
        foreach (var required in new[] { "type", "input" })
        {
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(required, out _))
            {
                throw GlanceException.BadRequest($"Task '{required}' is required");
            }
        }
        var unexpected = root.EnumerateObject().Select(p => p.Name)
            .Where(n => n is not ("id" or "type" or "status" or "expires_at") && !Objects.Contains(n) && !Texts.Contains(n)).ToList();
        if (unexpected.Count > 0)
        {
            throw Mismatch($"Additional properties are not allowed ({string.Join(", ", unexpected.Select(Quote))} {(unexpected.Count == 1 ? "was" : "were")} unexpected)");
        }
        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "id" when value.ValueKind != JsonValueKind.String:
                    throw Mismatch($"{Repr(value)} is not of type 'string'");
                case "id" when !System.Text.RegularExpressions.Regex.IsMatch(value.GetString()!, UuidPattern):
                    throw Mismatch($"{Repr(value)} does not match '{UuidPattern}'");
                case "type" when value.ValueKind != JsonValueKind.String || !Types.Contains(value.GetString()):
                    throw Mismatch($"{Repr(value)} is not one of ['import', 'api_image_import']");
                case "status" when value.ValueKind != JsonValueKind.String || !Statuses.Contains(value.GetString()):
                    throw Mismatch($"{Repr(value)} is not one of ['pending', 'processing', 'success', 'failure']");
                case "input" or "result" when value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null):
                    throw Mismatch($"{Repr(value)} is not of type 'null', 'object'");
                case "expires_at" when value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null):
                    throw Mismatch($"{Repr(value)} is not of type 'null', 'string'");
                case var name when Texts.Contains(name) && value.ValueKind != JsonValueKind.String:
                    throw Mismatch($"{Repr(value)} is not of type 'string'");
            }
        }
        return new TaskBody(root.GetProperty("type").GetString()!, root.GetProperty("input").GetRawText());
    }

    /// <summary>
    /// The <c>import_from</c> of a legacy import, checked when the task is created as Glance (with the
    /// import-filtering fix of OSSN-0105) does: http(s) only, and passing web-download's scheme, host and
    /// port filter (400). Where the host leads is checked when connecting: the task fails then.
    /// </summary>
    public string ImportFrom(WebDownloadFilter filter)
    {
        using var input = JsonDocument.Parse(InputJson);
        var location = input.RootElement.ValueKind == JsonValueKind.Object && input.RootElement.TryGetProperty("import_from", out var from)
            ? from
            : default;
        var text = location.ValueKind switch
        {
            JsonValueKind.String => location.GetString()!,
            JsonValueKind.Undefined or JsonValueKind.Null => null,
            _ => throw GlanceException.BadRequest($"Invalid location: {location.GetRawText()}"),
        };
        if (string.IsNullOrEmpty(text))
        {
            throw GlanceException.BadRequest($"Invalid location: {text ?? "None"}");
        }
        if (text.StartsWith("http://", StringComparison.Ordinal) || text.StartsWith("https://", StringComparison.Ordinal))
        {
            return filter.Check(text) is not null
                ? text
                : throw GlanceException.BadRequest($"URI for legacy import task does not pass filtering: {text}");
        }
        throw GlanceException.BadRequest(text.StartsWith("file:///", StringComparison.Ordinal) || text.StartsWith("filesystem:///", StringComparison.Ordinal)
            ? "File based imports are not allowed. Please use a non-local source of image data."
            : "The given uri is not valid. Please specify a valid uri from the following list of supported uri ['http']");
    }

    /// <summary>Glance records a task's <c>image_id</c> from its input's.</summary>
    public Guid? InputImageId()
    {
        using var input = JsonDocument.Parse(InputJson);
        return input.RootElement.ValueKind == JsonValueKind.Object && input.RootElement.TryGetProperty("image_id", out var id)
            && id.ValueKind == JsonValueKind.String && Guid.TryParse(id.GetString(), out var imageId) ? imageId : null;
    }

    /// <summary>
    /// Why a legacy import cannot run (Glance's <c>unpack_task_input</c>: the task then fails), or
    /// null; otherwise <paramref name="draft"/> is the image to create from <c>image_properties</c>
    /// (disk_format qcow2 and container_format bare when it is empty, as Glance's
    /// <c>set_base_image_properties</c>).
    /// </summary>
    public static string? LegacyImage(string inputJson, out ImageDraft draft)
    {
        draft = ImageDraft.Empty;
        using var input = JsonDocument.Parse(inputJson);
        var root = input.RootElement;
        foreach (var key in new[] { "import_from", "import_from_format", "image_properties" })
        {
            if (!root.TryGetProperty(key, out _))
            {
                return $"Input does not contain '{key}' field";
            }
        }
        var properties = root.GetProperty("image_properties");
        if (properties.ValueKind != JsonValueKind.Object)
        {
            return "Input field 'image_properties' must be an object.";
        }
        var attributes = properties.EnumerateObject().ToImmutableDictionary(p => p.Name, p => p.Value.GetRawText());
        draft = new ImageDraft(attributes.IsEmpty
            ? ImmutableDictionary<string, string>.Empty.Add("disk_format", "\"qcow2\"").Add("container_format", "\"bare\"")
            : attributes);
        return null;
    }

    /// <summary>
    /// Why an api_image_import task created with <c>POST /v2/tasks</c> fails: its input is checked as
    /// Glance does, and it is never run (such tasks are started by <c>POST /v2/images/{id}/import</c>).
    /// </summary>
    public static string ApiImportProblem(string inputJson)
    {
        using var input = JsonDocument.Parse(inputJson);
        var root = input.RootElement;
        return root.ValueKind != JsonValueKind.Object || !root.EnumerateObject().Any()
            ? "Input to api_image_import task is empty."
            : !root.TryGetProperty("image_id", out _)
                ? "Missing required 'image_id' field"
                : "Tasks of type api_image_import are run by POST /v2/images/{image_id}/import, not the tasks API.";
    }

    private static JsonDocument ParseJson(string json)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            throw GlanceException.BadRequest("Malformed JSON in request body.");
        }
    }

    private static GlanceException Mismatch(string detail) => GlanceException.BadRequest(SchemaError + detail);

    private static string Quote(string text) => "'" + text.Replace("\\", "\\\\").Replace("'", "\\'") + "'";

    /// <summary>A JSON value as Python's repr shows the decoded value (what jsonschema's messages quote).</summary>
    private static string Repr(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => Quote(value.GetString()!),
        JsonValueKind.True => "True",
        JsonValueKind.False => "False",
        JsonValueKind.Null => "None",
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.Array => "[" + string.Join(", ", value.EnumerateArray().Select(Repr)) + "]",
        _ => "{" + string.Join(", ", value.EnumerateObject().Select(p => $"{Quote(p.Name)}: {Repr(p.Value)}")) + "}",
    };
}
