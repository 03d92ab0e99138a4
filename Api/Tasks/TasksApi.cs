using System.Text;
using System.Text.Json;
using Glance.Api.Errors;
using Glance.Api.Hosting;
using Glance.Api.Identity;
using Glance.Api.Images;
using Glance.Grains.Tasks;
using Microsoft.Extensions.Options;

namespace Glance.Api.Tasks;

/// <summary>
/// Glance's tasks API (spec 1.6): <c>GET/POST /v2/tasks</c>, <c>GET/DELETE /v2/tasks/{id}</c>. The
/// task grains and the task catalog apply the rules (the <c>tasks_api_access</c> policy, admin only by
/// default, and visibility); this maps HTTP to them and writes Glance's JSON.
/// </summary>
public static class TasksApi
{
    private const string DeleteRefusal =
        "This operation is currently not permitted on Glance Tasks. They are auto deleted after reaching the time based on their expires_at property.";

    /// <summary>Maps the tasks routes.</summary>
    public static IEndpointRouteBuilder MapTasksApi(this IEndpointRouteBuilder app)
    {
        var tasks = app.MapGroup("/v2/tasks").WithTags("Tasks");
        tasks.MapGet("", ListAsync).WithName("ListTasks").WithSummary("List tasks with filters, sorting and pagination (admin by default)");
        tasks.MapPost("", CreateAsync).WithName("CreateTask").WithSummary("Create a legacy import task (201 + Location; admin by default)");
        tasks.MapGet("{id}", ShowAsync).WithName("ShowTask").WithSummary("Show a task (admin by default)");
        tasks.MapDelete("{id}", DeleteAsync).WithName("DeleteTask").WithSummary("Refused as in Glance (405: tasks expire by themselves)");
        return app;
    }

    private static async Task ListAsync(HttpContext context, IGrainFactory grains)
    {
        var query = context.Request.Query;
        ImmutableArray<QueryParameter> parameters = [.. query.SelectMany(q => q.Value.Select(v => new QueryParameter(q.Key, v ?? "")))];
        var page = await grains.GetGrain<ITaskCatalogGrain>(0).ListAsync(context.Caller(), parameters);
        // Glance's links: the request's parameters (the last value of each) without the marker; next adds the last task's id.
        var pairs = query.Where(q => q.Key != "marker").Select(q => (q.Key, Value: q.Value.LastOrDefault() ?? "")).ToList();
        var first = "/v2/tasks" + Encode(pairs);
        var next = page.Full && !page.Tasks.IsEmpty ? "/v2/tasks" + Encode([.. pairs, ("marker", page.Tasks[^1].Id.ToString())]) : null;
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("tasks");
            foreach (var task in page.Tasks)
            {
                WriteStub(w, task);
            }
            w.WriteEndArray();
            w.WriteString("first", first);
            w.WriteString("schema", "/v2/schemas/tasks");
            if (next is not null)
            {
                w.WriteString("next", next);
            }
            w.WriteEndObject();
        });
    }

    private static async Task CreateAsync(HttpContext context, IGrainFactory grains, IOptions<TaskOptions> options)
    {
        var caller = context.Caller();
        // Glance checks the policy before it reads the body.
        TaskAccess.Demand(options.Value, caller);
        using var body = await RequestBody.ReadJsonAsync(context.Request);
        var id = Guid.NewGuid();
        var task = await grains.GetGrain<ITaskGrain>(id).CreateAsync(caller, new CreateTaskRequest(body?.RootElement.GetRawText()));
        context.Response.Headers.Location = $"{context.Request.Scheme}://{context.Request.Host}/v2/tasks/{task.Id}";
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status201Created, w => WriteTask(w, task));
    }

    private static async Task ShowAsync(HttpContext context, string id, IGrainFactory grains, IOptions<TaskOptions> options)
    {
        var caller = context.Caller();
        if (TaskQuery.CanonicalId(id) is not { } taskId)
        {
            // Task ids are Glance's canonical UUID text: any other id names no task.
            TaskAccess.Demand(options.Value, caller);
            throw GlanceException.NotFound($"Could not find task {id}");
        }
        var task = await grains.GetGrain<ITaskGrain>(taskId).GetAsync(caller);
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w => WriteTask(w, task));
    }

    private static async Task DeleteAsync(HttpContext context, IOptions<TaskOptions> options)
    {
        TaskAccess.Demand(options.Value, context.Caller());
        context.Response.Headers.Allow = "GET";
        await ErrorResponses.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, DeleteRefusal);
    }

    /// <summary>A task as Glance's <c>tasks.ResponseSerializer._format_task</c> writes it (show and create).</summary>
    public static void WriteTask(Utf8JsonWriter w, ImageTask task)
    {
        var id = task.Id.ToString();
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WritePropertyName("input");
        ImportApi.WriteJson(w, task.InputJson);
        w.WriteString("type", task.Type);
        w.WriteString("status", WireNames.Of(task.Status));
        w.WriteString("owner", task.Owner);
        w.WriteString("message", task.Message);
        w.WritePropertyName("result");
        ImportApi.WriteJson(w, task.ResultJson);
        w.WriteString("created_at", ImageJson.Timestamp(task.CreatedAt));
        w.WriteString("updated_at", ImageJson.Timestamp(task.UpdatedAt));
        w.WriteString("self", $"/v2/tasks/{id}");
        w.WriteString("schema", "/v2/schemas/task");
        // These only when set, as Glance.
        if (task.ImageId is { } imageId)
        {
            w.WriteString("image_id", imageId.ToString());
        }
        if (!string.IsNullOrEmpty(task.RequestId))
        {
            w.WriteString("request_id", task.RequestId);
        }
        if (!string.IsNullOrEmpty(task.UserId))
        {
            w.WriteString("user_id", task.UserId);
        }
        WriteExpiry(w, task);
        ImportApi.WriteProgress(w, task);
        w.WriteEndObject();
    }

    /// <summary>A task as Glance's <c>_format_task_stub</c> writes it in lists: no input, result or message.</summary>
    public static void WriteStub(Utf8JsonWriter w, ImageTask task)
    {
        var id = task.Id.ToString();
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("type", task.Type);
        w.WriteString("status", WireNames.Of(task.Status));
        w.WriteString("owner", task.Owner);
        w.WriteString("created_at", ImageJson.Timestamp(task.CreatedAt));
        w.WriteString("updated_at", ImageJson.Timestamp(task.UpdatedAt));
        w.WriteString("self", $"/v2/tasks/{id}");
        w.WriteString("schema", "/v2/schemas/task");
        WriteExpiry(w, task);
        w.WriteEndObject();
    }

    private static void WriteExpiry(Utf8JsonWriter w, ImageTask task)
    {
        if (task.ExpiresAt is { } expires)
        {
            w.WriteString("expires_at", ImageJson.Timestamp(expires));
        }
    }

    // Python's urlencode (quote_plus), which Glance's links use.
    private static string Encode(IEnumerable<(string Key, string Value)> pairs)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in pairs)
        {
            text.Append(text.Length == 0 ? '?' : '&')
                .Append(Uri.EscapeDataString(key).Replace("%20", "+")).Append('=')
                .Append(Uri.EscapeDataString(value).Replace("%20", "+"));
        }
        return text.ToString();
    }
}
