using System.Text.Json;

namespace Glance.Grains.Images;

/// <summary>
/// The body of <c>POST /v2/images/{id}/import</c>, as JSON, e.g.
/// <c>{"method":{"name":"web-download","uri":"http://..."}}</c>. It stays JSON so the image grain
/// alone validates it (whoever the caller is) and records it verbatim as the task's
/// <c>input.import_req</c>; <see cref="GlanceDirect"/> and <see cref="WebDownload"/> build the usual ones.
/// </summary>
[GenerateSerializer, Immutable, Alias("glance.import-request")]
public sealed record ImportRequest([property: Id(0)] string BodyJson)
{
    /// <summary>
    /// The task the import runs under when it was not started by <c>POST /v2/images/{id}/import</c>
    /// (a legacy <c>POST /v2/tasks</c> import): its task grain already holds it. Null: a new task.
    /// </summary>
    [Id(1)] public ImportTaskOrigin? Task { get; init; }

    /// <summary>Import the data staged with <c>PUT /stage</c>.</summary>
    public static ImportRequest GlanceDirect() =>
        new(JsonSerializer.Serialize(new { method = new { name = ImportMethods.GlanceDirect } }));

    /// <summary>Download the data from <paramref name="uri"/>.</summary>
    public static ImportRequest WebDownload(string uri) =>
        new(JsonSerializer.Serialize(new { method = new { name = ImportMethods.WebDownload, uri } }));
}

/// <summary>A task that exists before the import it runs (see <see cref="ImportRequest.Task"/>).</summary>
/// <param name="TaskId">The task's id.</param>
/// <param name="Type">Its type (<see cref="ImportMethods.LegacyTaskType"/>).</param>
/// <param name="InputJson">Its input, as given to <c>POST /v2/tasks</c>.</param>
/// <param name="RequestId">The request id of the call that created it.</param>
/// <param name="CreatedAt">When it was created.</param>
[GenerateSerializer, Immutable, Alias("glance.import-task-origin")]
public sealed record ImportTaskOrigin(
    [property: Id(0)] Guid TaskId,
    [property: Id(1)] string Type,
    [property: Id(2)] string InputJson,
    [property: Id(3)] string? RequestId,
    [property: Id(4)] DateTimeOffset CreatedAt);

/// <summary>The import methods this service implements (Glance's names).</summary>
public static class ImportMethods
{
    /// <summary>Import data staged with <c>PUT /v2/images/{id}/stage</c>.</summary>
    public const string GlanceDirect = "glance-direct";

    /// <summary>Download the data from an http(s) URI.</summary>
    public const string WebDownload = "web-download";

    /// <summary>Every method implemented, in Glance's order.</summary>
    public static readonly ImmutableArray<string> All = [GlanceDirect, WebDownload];

    /// <summary>The task type of an import (Glance's <c>api_image_import</c>).</summary>
    public const string TaskType = "api_image_import";

    /// <summary>The task type of Glance's legacy tasks-API import (<c>POST /v2/tasks</c>, type <c>import</c>).</summary>
    public const string LegacyTaskType = "import";
}

/// <summary>Keys of values the HTTP tier passes to grains in Orleans' <c>RequestContext</c>.</summary>
public static class GlanceRequestContext
{
    /// <summary>The OpenStack request id (<c>req-&lt;uuid&gt;</c>) of the HTTP request; recorded on tasks.</summary>
    public const string RequestIdKey = "glance.request-id";
}

/// <summary>A task's status (Glance: pending -&gt; processing -&gt; success | failure).</summary>
public enum ImageTaskStatus
{
    /// <summary>Created, not started.</summary>
    Pending,
    /// <summary>Running.</summary>
    Processing,
    /// <summary>Finished successfully.</summary>
    Success,
    /// <summary>Finished with an error (see the message).</summary>
    Failure,
}

/// <summary>
/// An asynchronous operation on an image (an import), as <c>GET /v2/images/{id}/tasks</c> and
/// <c>GET /v2/tasks/{id}</c> show it.
/// </summary>
[GenerateSerializer, Immutable, Alias("glance.image-task")]
public sealed record ImageTask
{
    /// <summary>The task id.</summary>
    [Id(0)] public required Guid Id { get; init; }
    /// <summary>Task type, <see cref="ImportMethods.TaskType"/>.</summary>
    [Id(1)] public required string Type { get; init; }
    /// <summary>Where the task is.</summary>
    [Id(2)] public required ImageTaskStatus Status { get; init; }
    /// <summary>The task input as a JSON object: <c>{"image_id", "import_req", "backend"}</c>.</summary>
    [Id(3)] public required string InputJson { get; init; }
    /// <summary>The result as a JSON object (<c>{"image_id"}</c> on success); null until then.</summary>
    [Id(4)] public string? ResultJson { get; init; }
    /// <summary>Why it failed; empty otherwise.</summary>
    [Id(5)] public string Message { get; init; } = "";
    /// <summary>The project that started it.</summary>
    [Id(6)] public string? Owner { get; init; }
    /// <summary>When it was created (UTC, whole seconds).</summary>
    [Id(7)] public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>Its last change (UTC, whole seconds).</summary>
    [Id(8)] public required DateTimeOffset UpdatedAt { get; init; }
    /// <summary>When a finished task stops being listed; null while it runs.</summary>
    [Id(9)] public DateTimeOffset? ExpiresAt { get; init; }
    /// <summary>
    /// The image it works on, as Glance records it: an import's image; for a task created with
    /// <c>POST /v2/tasks</c>, its input's <c>image_id</c> (none for a legacy import, whose image is in its result).
    /// </summary>
    [Id(10)] public Guid? ImageId { get; init; }
    /// <summary>The OpenStack request id of the call that started it.</summary>
    [Id(11)] public string? RequestId { get; init; }
    /// <summary>The user that started it.</summary>
    [Id(12)] public string? UserId { get; init; }
    /// <summary>Bytes an import in progress has done; null when it is not running here.</summary>
    [Id(13)] public long? BytesDone { get; init; }
    /// <summary>The bytes an import in progress has to do, when known (the source's size); null otherwise.</summary>
    [Id(14)] public long? BytesTotal { get; init; }
}
