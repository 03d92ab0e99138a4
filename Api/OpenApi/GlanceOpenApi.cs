using Scalar.AspNetCore;

namespace Glance.Api.OpenApi;

/// <summary>
/// The API reference: the OpenAPI 3.1 document at <c>/openapi/v1.json</c> (Microsoft.AspNetCore.OpenApi)
/// and Scalar's interactive page at <c>/docs</c>. Neither is under <c>/v2</c>, so neither is behind
/// identity nor touched by version negotiation. The handlers write Glance's JSON by hand, so the
/// request and response schemas come from <see cref="GlanceDocumentTransformer"/>.
/// </summary>
public static class GlanceOpenApi
{
    /// <summary>The document's name: its path is <c>/openapi/{name}.json</c>.</summary>
    public const string DocumentName = "v1";

    /// <summary>Registers the document generator and its transformer.</summary>
    public static IServiceCollection AddGlanceOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(DocumentName, options =>
        {
            options.OpenApiVersion = Microsoft.OpenApi.OpenApiSpecVersion.OpenApi3_1;
            options.AddDocumentTransformer<GlanceDocumentTransformer>();
        }).AddSingleton<OpenApiDocumentCache>();

    /// <summary>Maps <c>/openapi/v1.json</c> and <c>/docs</c>.</summary>
    public static WebApplication MapGlanceOpenApi(this WebApplication app)
    {
        // The one document by its own path (any other name is the API's JSON 404), from the cache.
        // Both routes are left out of the document they serve.
        app.MapGet($"/openapi/{DocumentName}.json", async (HttpContext context, OpenApiDocumentCache cache) =>
            TypedResults.Bytes(await cache.GetAsync(context.RequestAborted), "application/json;charset=utf-8"))
            .ExcludeFromDescription();
        app.MapScalarApiReference("/docs", options =>
        {
            options.Title = "Glance.Orleans API reference";
            // Served whole from this service: no fonts from a CDN, no telemetry, no AI chat, no
            // hosted developer toolbar; a service on a closed network shows the same page.
            options.DefaultFonts = false;
            options.Telemetry = false;
            options.ShowDeveloperTools = DeveloperToolsVisibility.Never;
            options.Agent = new ScalarAgentOptions { Disabled = true };
            options.HideClientButton = true;
        });
        return app;
    }
}
