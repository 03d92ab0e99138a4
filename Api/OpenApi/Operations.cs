using Glance.Api.Images;
using Microsoft.OpenApi;

namespace Glance.Api.OpenApi;

/// <summary>
/// What each operation (by its route's WithName) reads and answers, for the OpenAPI document:
/// the handlers parse and write Glance's JSON by hand, so this table says it once.
/// </summary>
internal static class Operations
{
    public const string Binary = "(binary)";
    public const string Text = "(text)";
    private const string Json = "application/json";

    public sealed record Request(string Schema, string[] MediaTypes, bool Required = true);

    public sealed record Response(string Status, string Description, string? Schema = null, string MediaType = Json)
    {
        public (string Name, string Description)[] Headers { get; init; } = [];
    }

    public sealed record Query(string Name, string Description, JsonSchemaType Type = JsonSchemaType.String);

    public sealed record OperationSpec(Request? Request, Response[] Responses, Query[] Query);

    private static Request JsonBody(string schema) => new(schema, [Json]);

    private static readonly (string, string) Location = ("Location", "The new resource's URL");
    private static readonly Response NoContent = new("204", "Done (no body)");

    private static readonly Query[] Paging =
    [
        new("limit", "Page size", JsonSchemaType.Integer), new("marker", "Id of the last item of the previous page"),
        new("sort_key", "Attribute to sort by (repeatable)"), new("sort_dir", "asc or desc (repeatable)"),
        new("sort", "key:dir[,key:dir] (the new sort syntax)"),
    ];

    private static readonly Query[] ImageFilters =
    [
        .. Paging,
        new("name", "Exact name, or in:a,b"), new("visibility", "public, private, shared, community or all"),
        new("status", "queued, active, deactivated, ..."), new("owner", "Owning project"),
        new("member_status", "pending, accepted, rejected or all (with visibility=shared)"), new("tag", "Has this tag (repeatable)"),
        new("size_min", "Smallest size in bytes", JsonSchemaType.Integer), new("size_max", "Largest size in bytes", JsonSchemaType.Integer),
        new("protected", "true or false"), new("os_hidden", "true lists hidden images"),
        new("container_format", "Exact container format"), new("disk_format", "Exact disk format"),
        new("created_at", "gt:2026-01-01T00:00:00Z and the like"), new("updated_at", "gt:..., lte:..."),
        new("id", "in:id1,id2"),
    ];

    /// <summary>The spec of an operation; a name not listed gets a plain 200.</summary>
    public static OperationSpec Spec(string name, HttpMethod method) => name switch
    {
        "CreateImage" => new(JsonBody("Image"), [new("201", "The image (queued)", "Image") { Headers = [Location, (ImportApi.ImportMethodsHeader, "The import methods the service offers")] }], []),
        "ListImages" => new(null, [new("200", "A page of images; next links the following one", "Images")], ImageFilters),
        "ShowImage" => new(null, [new("200", "The image", "Image")], []),
        "UpdateImage" => new(new("ImagePatch", [PatchDocument.V21, PatchDocument.V20]), [new("200", "The updated image", "Image")], []),
        "DeleteImage" or "AddImageTag" or "DeleteImageTag" or "DeactivateImage" or "ReactivateImage" or "DeleteMember"
            or "DeleteImageProperty" or "DeletePropertyDefinition" => new(null, [NoContent], []),
        "UploadImageData" or "StageImageData" => new(new(Binary, ["application/octet-stream"]),
            [NoContent with { Description = "Stored (streamed and hashed; never buffered whole)" }], []),
        "DownloadImageData" => new(null,
        [
            new("200", "The bytes", Binary, "application/octet-stream") { Headers = [("Content-MD5", "The image's checksum"), ("Content-Length", "Size in bytes")] },
            new("206", "The requested range (Range header)", Binary, "application/octet-stream") { Headers = [("Content-Range", "The range sent")] },
            new("204", "The image has no data"),
        ], []),
        "ImportImage" => new(JsonBody("ImportRequest"), [new("202", "The import started (no body)")], []),
        "ListImageTasks" => new(null, [new("200", "The image's import tasks with their progress", "ImageTasks")], []),
        "AddMember" => new(JsonBody("AddMember"), [new("200", "The member (pending)", "Member")], []),
        "ListMembers" => new(null, [new("200", "The image's members", "Members")], []),
        "ShowMember" => new(null, [new("200", "The member", "Member")], []),
        "UpdateMember" => new(JsonBody("MemberStatus"), [new("200", "The member", "Member")], []),
        "ListTasks" => new(null, [new("200", "A page of tasks", "Tasks")], [.. Paging, new("type", "import"), new("status", "pending, processing, success, failure")]),
        "CreateTask" => new(JsonBody("Task"), [new("201", "The task", "Task") { Headers = [Location] }], []),
        "ShowTask" => new(null, [new("200", "The task", "Task")], []),
        "DeleteTask" => new(null, [new("405", "Refused, as in Glance: tasks expire by themselves", "Error")], []),
        "ListImageProperties" => new(null, [new("200", "The properties the caller may see", "ImageProperties")], []),
        "ShowImageProperty" => new(null, [new("200", "The property", "ImageProperty") { Headers = [("ETag", "The property's version, for If-Match")] }], []),
        "PutImageProperty" => new(JsonBody("ImagePropertyWrite"),
        [
            new("201", "Created", "ImageProperty") { Headers = [("ETag", "The property's version"), Location] },
            new("200", "Replaced", "ImageProperty") { Headers = [("ETag", "The property's version")] },
        ], []),
        "ListPropertyDefinitions" => new(null, [new("200", "The definitions", "PropertyDefinitions")], []),
        "ShowPropertyDefinition" => new(null, [new("200", "The definition", "PropertyDefinition")], []),
        "DefineProperty" => new(JsonBody("PropertyDefinition"), [new("201", "Created", "PropertyDefinition"), new("200", "Replaced", "PropertyDefinition")], []),
        "ShowImportInfo" => new(null, [new("200", "The import methods", "ImportInfo")], []),
        "ListVersionsRoot" => new(null, [new("300", "The versions", "Versions")], []),
        "ListVersions" => new(null, [new("200", "The versions", "Versions")], []),
        "Liveness" or "Readiness" => new(null, [new("200", "Alive / ready", "Health"), new("503", "Not ready: the body names the failed check", "Health")], []),
        "Healthcheck" => new(null, [new("200", "OK", Text, "text/plain")], []),
        "ShowUsage" => new(null, [new("200", "Usage", "Usage")], []),
        _ when name.StartsWith("Schema_", StringComparison.Ordinal) => new(null, [new("200", "The JSON Schema", "JsonSchema")], []),
        _ when name.StartsWith("Metadef", StringComparison.Ordinal) || name.Contains("Metadef", StringComparison.Ordinal) => Metadef(name, method),
        _ => new(null, [new("200", "OK")], []),
    };

    /// <summary>Metadefs: the body and answer are the record the name ends in.</summary>
    private static OperationSpec Metadef(string name, HttpMethod method)
    {
        var record = name switch
        {
            _ when name.EndsWith("ResourceTypes", StringComparison.Ordinal) => "MetadefResourceTypes",
            _ when name.Contains("ResourceTypeAssociation", StringComparison.Ordinal) => "MetadefResourceTypeAssociation",
            _ when name.EndsWith("Namespaces", StringComparison.Ordinal) => "MetadefNamespaces",
            _ when name.EndsWith("Namespace", StringComparison.Ordinal) => "MetadefNamespace",
            _ when name.EndsWith("Objects", StringComparison.Ordinal) => "MetadefObjects",
            _ when name.EndsWith("Object", StringComparison.Ordinal) => "MetadefObject",
            _ when name.EndsWith("Properties", StringComparison.Ordinal) => "MetadefProperties",
            _ when name.EndsWith("Property", StringComparison.Ordinal) => "MetadefProperty",
            _ when name.EndsWith("Tags", StringComparison.Ordinal) => "MetadefTags",
            _ => "MetadefTag",
        };
        if (method == HttpMethod.Delete)
        {
            return new(null, [NoContent], []);
        }
        var request = method == HttpMethod.Post || method == HttpMethod.Put ? JsonBody(record) : null;
        var status = method == HttpMethod.Post ? "201" : "200";
        return new(request, [new(status, "The record", record)], method == HttpMethod.Get && name.StartsWith("List", StringComparison.Ordinal) ? Paging : []);
    }
}
