using Microsoft.Extensions.FileProviders;

namespace Glance.Api.Console;

/// <summary>
/// The web console at <c>/console</c>: static HTML, CSS and JavaScript embedded in the
/// assembly (no Node build step, nothing to copy beside the binary). Its files are not behind
/// identity; the API calls it makes are, exactly as any client's.
/// </summary>
public static class ConsoleApi
{
    private static readonly ManifestEmbeddedFileProvider Files = new(typeof(ConsoleApi).Assembly, "Console/wwwroot");

    private static readonly Microsoft.AspNetCore.StaticFiles.FileExtensionContentTypeProvider ContentTypes = new();

    /// <summary>Maps <c>/console</c> (the page) and <c>/console/{file}</c> (its script and style).</summary>
    public static IEndpointRouteBuilder MapConsole(this IEndpointRouteBuilder app)
    {
        var console = app.MapGroup("/console").WithTags("Console");
        console.MapGet("", (HttpContext context) => context.Request.Path.Value!.EndsWith('/')
                ? Serve(context, "index.html")
                : TypedResults.Redirect("/console/"))
            .WithName("Console").WithSummary("The web console (HTML)");
        console.MapGet("{file}", (HttpContext context, string file) => Serve(context, file))
            .WithName("ConsoleFile").WithSummary("The console's script and style");
        return app;
    }

    private static IResult Serve(HttpContext context, string name)
    {
        var file = Files.GetFileInfo(name);
        if (!file.Exists || file.IsDirectory || !ContentTypes.TryGetContentType(name, out var type))
        {
            throw GlanceException.NotFound("The resource could not be found.");
        }
        // Revalidated on every load: a new version of the service is seen at once.
        context.Response.Headers.CacheControl = "no-cache";
        return TypedResults.Stream(file.CreateReadStream(), type, lastModified: file.LastModified);
    }
}
