using System.Globalization;
using System.Text.Json;
using Glance.Api.Hosting;
using Glance.Api.Identity;
using Microsoft.Extensions.Options;

namespace Glance.Api.Images;

/// <summary>
/// Interoperable import (spec 1.4, 1.6): <c>POST /v2/images/{id}/import</c>, the image's tasks,
/// and the discovery documents <c>/v2/info/import</c> and <c>/v2/info/stores</c>. The image
/// grain validates and runs imports; this only maps HTTP.
/// </summary>
public static class ImportApi
{
    /// <summary>The header <c>POST /v2/images</c> answers with, listing the enabled import methods.</summary>
    public const string ImportMethodsHeader = "OpenStack-image-import-methods";

    /// <summary>Maps the import, task and discovery routes.</summary>
    public static IEndpointRouteBuilder MapImportApi(this IEndpointRouteBuilder app)
    {
        var images = app.MapGroup("/v2/images/{id}").WithTags("Import");
        images.MapPost("import", ImportAsync).WithName("ImportImage").WithSummary("Start an import (202, empty body)");
        images.MapGet("tasks", TasksAsync).RejectsBody().WithName("ListImageTasks").WithSummary("The image's import tasks");
        var info = app.MapGroup("/v2/info").WithTags("Info");
        info.MapGet("import", (IOptions<ImportOptions> options) => TypedResults.Json(new Dictionary<string, object>
            {
                ["import-methods"] = new { description = "Import methods available.", type = "array", value = options.Value.Methods },
            }))
            .RejectsBody().WithName("ShowImportInfo").WithSummary("The enabled import methods");
        // One store, as a Glance without enabled_backends: images carry no "stores", the image schema
        // has none, and discovery says so (glanceclient then refuses --stores itself, as with Glance).
        info.MapGet("stores", IResult () => throw GlanceException.NotFound("Multi backend is not supported at this site."))
            .RejectsBody().WithName("ShowStores").WithSummary("404: one store (no multi-store), as Glance without enabled_backends");
        return app;
    }

    private static async Task<IResult> ImportAsync(HttpContext context, string id, IGrainFactory grains)
    {
        var grain = grains.Image(id);
        // Glance: no body at all is "Body expected in request."; the grain judges the rest.
        using var body = await RequestBody.ReadJsonAsync(context.Request)
            ?? throw GlanceException.BadRequest("Body expected in request.");
        await grain.ImportAsync(context.Caller(), new ImportRequest(body.RootElement.GetRawText()));
        return TypedResults.StatusCode(StatusCodes.Status202Accepted);
    }

    private static async Task TasksAsync(HttpContext context, string id, IGrainFactory grains)
    {
        await ImageJson.WriteListAsync(context, "tasks", await grains.Image(id).ListTasksAsync(context.Caller()), WriteTask);
    }

    /// <summary>
    /// One task as Glance's <c>_task_format</c> builds it for <c>/images/{id}/tasks</c>: the keys
    /// <c>request_id</c> and <c>user_id</c>, raw database timestamps, input and result as objects.
    /// </summary>
    public static void WriteTask(Utf8JsonWriter w, ImageTask task)
    {
        w.WriteStartObject();
        w.WriteString("id", task.Id.ToString());
        w.WriteString("type", task.Type);
        w.WriteString("status", WireNames.Of(task.Status));
        w.WriteString("owner", task.Owner);
        if (task.ExpiresAt is { } expires)
        {
            w.WriteString("expires_at", RawTimestamp(expires));
        }
        else
        {
            w.WriteNull("expires_at");
        }
        w.WriteString("created_at", RawTimestamp(task.CreatedAt));
        w.WriteString("updated_at", RawTimestamp(task.UpdatedAt));
        w.WriteNull("deleted_at");
        w.WriteBoolean("deleted", false);
        w.WriteString("image_id", task.ImageId?.ToString());
        w.WriteString("request_id", task.RequestId);
        w.WriteString("user_id", task.UserId);
        w.WritePropertyName("input");
        WriteJson(w, task.InputJson);
        w.WritePropertyName("result");
        WriteJson(w, task.ResultJson);
        w.WriteString("message", task.Message);
        WriteProgress(w, task);
        w.WriteEndObject();
    }

    /// <summary>
    /// A running import's progress, a key Glance does not send (clients ignore unknown keys; the
    /// task schema allows them): <c>"progress": {"bytes_done": n, "bytes_total": n or null}</c>.
    /// </summary>
    public static void WriteProgress(Utf8JsonWriter w, ImageTask task)
    {
        if (task.BytesDone is not { } done)
        {
            return;
        }
        w.WriteStartObject("progress");
        w.WriteNumber("bytes_done", done);
        if (task.BytesTotal is { } total)
        {
            w.WriteNumber("bytes_total", total);
        }
        else
        {
            w.WriteNull("bytes_total");
        }
        w.WriteEndObject();
    }

    /// <summary>A database datetime as Glance serialises it here: <c>2020-12-18T05:20:38.000000</c>.</summary>
    public static string RawTimestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture);

    /// <summary>Writes a JSON text (a task's input or result) as a value; null when there is none.</summary>
    public static void WriteJson(Utf8JsonWriter w, string? json)
    {
        if (json is null)
        {
            w.WriteNullValue();
            return;
        }
        using var document = JsonDocument.Parse(json);
        document.RootElement.WriteTo(w);
    }
}
