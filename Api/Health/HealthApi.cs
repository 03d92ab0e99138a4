using System.Text.Json;

namespace Glance.Api.Health;

/// <summary>
/// Health for load balancers and orchestrators, never behind identity: <c>/healthz</c> says the
/// process serves requests; <c>/readyz</c> says it can do its work: the silo or cluster answers a
/// grain call, grain storage takes a write, and the image data store takes a write and a delete.
/// Not ready is 503 with a JSON body naming each check and what failed. (<c>/healthcheck</c>,
/// oslo's, stays as Glance answers it.)
/// </summary>
public static class HealthApi
{
    /// <summary>Maps <c>/healthz</c> and <c>/readyz</c>.</summary>
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/healthz", [HttpMethods.Get, HttpMethods.Head], () => TypedResults.Json(new { status = "alive" }))
            .WithTags("Health").WithName("Liveness").WithSummary("200 while the process serves requests");
        app.MapMethods("/readyz", [HttpMethods.Get, HttpMethods.Head], ReadyAsync)
            .WithTags("Health").WithName("Readiness").WithSummary("200 when the cluster, grain storage and the image data store work; else 503 naming the failed check");
        return app;
    }

    private static async Task ReadyAsync(HttpContext context, ReadinessChecks readiness)
    {
        var checks = await readiness.RunAsync();
        var ready = checks.Values.All(c => c.Ok);
        var response = context.Response;
        response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }
        await using var writer = new Utf8JsonWriter(response.Body);
        writer.WriteStartObject();
        writer.WriteString("status", ready ? "ready" : "not ready");
        if (!ready)
        {
            // Glance's error keys too, so clients that parse errors read this one.
            var failed = string.Join(", ", checks.Where(c => !c.Value.Ok).Select(c => c.Key));
            writer.WriteString("message", $"Not ready: {failed}.");
            writer.WriteString("code", "503 Service Unavailable");
            writer.WriteString("title", "Service Unavailable");
        }
        writer.WriteStartObject("checks");
        foreach (var (name, outcome) in checks)
        {
            writer.WriteStartObject(name);
            writer.WriteString("status", outcome.Ok ? "ok" : "failed");
            if (!outcome.Ok)
            {
                writer.WriteString("error", outcome.Error);
            }
            writer.WriteNumber("ms", outcome.Milliseconds);
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
