using Glance.Grains.Identity;
using Glance.Grains.Images;

namespace Glance.Grains.Tasks;

/// <summary>
/// One task of Glance's tasks API, keyed by the task id: an import's task (written by the import
/// flow of its image) or a legacy import created with <c>POST /v2/tasks</c>. Both methods check
/// Glance's <c>tasks_api_access</c> policy (admin only by default, see <c>TaskOptions</c>); a task
/// of another project is "not found" for a non-admin, never "forbidden".
/// </summary>
[Alias("glance.ITaskGrain")]
public interface ITaskGrain : IGrainWithGuidKey
{
    /// <summary>
    /// <c>POST /v2/tasks</c>: validates the body as Glance does (400), records the task (pending)
    /// and starts it. An <c>import</c> task creates an image from <c>input.image_properties</c> and
    /// downloads <c>input.import_from</c> into it (web-download); the image is deleted if that fails.
    /// </summary>
    [Alias("create")]
    Task<ImageTask> CreateAsync(Caller caller, CreateTaskRequest request);

    /// <summary><c>GET /v2/tasks/{id}</c>: the task, not found when absent, expired or another project's.</summary>
    [ReadOnly, Alias("get")]
    Task<ImageTask> GetAsync(Caller caller);
}

/// <summary>
/// <c>GET /v2/tasks</c>: lists tasks from the owner-sharded task index without activating task
/// grains. A stateless worker, so every silo answers locally.
/// </summary>
[Alias("glance.ITaskCatalogGrain")]
public interface ITaskCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// One page of the tasks the caller may list (admins: all; others: their project's), parsed
    /// from the query parameters as Glance does (<c>limit</c>, <c>marker</c>, <c>sort_key</c>,
    /// <c>sort_dir</c>; any other parameter naming a task attribute filters on it).
    /// </summary>
    [ReadOnly, Alias("list")]
    Task<TaskPage> ListAsync(Caller caller, ImmutableArray<QueryParameter> parameters);
}

/// <summary>The body of <c>POST /v2/tasks</c> as JSON; null when the request had none.</summary>
[GenerateSerializer, Immutable, Alias("glance.create-task-request")]
public sealed record CreateTaskRequest([property: Id(0)] string? BodyJson);

/// <summary>One query parameter, in the order of the request (a name may repeat).</summary>
[GenerateSerializer, Immutable, Alias("glance.query-parameter")]
public sealed record QueryParameter([property: Id(0)] string Name, [property: Id(1)] string Value);

/// <summary>A page of tasks (input, result and message left out, as Glance's list does).</summary>
/// <param name="Tasks">The tasks, in the requested order.</param>
/// <param name="Full">True when the page holds as many tasks as the limit: Glance then links a next page.</param>
[GenerateSerializer, Immutable, Alias("glance.task-page")]
public sealed record TaskPage([property: Id(0)] ImmutableArray<ImageTask> Tasks, [property: Id(1)] bool Full);
