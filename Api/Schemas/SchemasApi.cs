using Glance.Grains.Properties;

namespace Glance.Api.Schemas;

/// <summary>
/// <c>/v2/schemas/*</c>: the JSON Schemas python-glanceclient downloads and validates its
/// input against. They are Glance Zed's own documents (embedded resources), less the
/// multi-store <c>stores</c> attribute this service does not have. The image schema also
/// advertises the operator's typed property definitions (<see cref="ImageSchemaDocument"/>).
/// </summary>
public static class SchemasApi
{
    private static readonly string[] Names = ["image", "images", "member", "members", "task", "tasks"];

    /// <summary>The metadefs schemas, served as <c>metadefs/{name}</c> from <c>metadefs-{name}.json</c> (Glance Zed's documents).</summary>
    public static readonly string[] MetadefNames =
        ["namespace", "namespaces", "object", "objects", "property", "properties", "tag", "tags", "resource_type", "resource_types"];

    /// <summary>Maps one GET route per schema.</summary>
    public static IEndpointRouteBuilder MapSchemasApi(this IEndpointRouteBuilder app)
    {
        var schemas = app.MapGroup("/v2/schemas").WithTags("Schemas");
        foreach (var name in Names)
        {
            var body = Load(name);
            var route = name == "image"
                // The image schema carries the operator's property definitions (ImageSchemaDocument).
                ? schemas.MapGet(name, async (IGrainFactory grains) =>
                    TypedResults.Bytes(ImageSchemaDocument.Build(body, await grains.PropertyDefinitions().ListAsync()), "application/json"))
                : schemas.MapGet(name, () => TypedResults.Bytes(body, "application/json"));
            route.RejectsBodyHere().WithName($"Schema_{name}").WithSummary($"JSON Schema of {name}");
        }
        foreach (var name in MetadefNames)
        {
            var body = Load($"metadefs-{name}");
            schemas.MapGet($"metadefs/{name}", () => TypedResults.Bytes(body, "application/json"))
                .RejectsBodyHere().WithName($"Schema_metadefs_{name}").WithSummary($"JSON Schema of metadefs {name}");
        }
        return app;
    }

    private static RouteHandlerBuilder RejectsBodyHere(this RouteHandlerBuilder builder) =>
        Glance.Api.Hosting.RequestBody.RejectsBody(builder);

    /// <summary>An embedded schema document (<c>Schemas/{name}.json</c>).</summary>
    public static byte[] Load(string name)
    {
        using var stream = typeof(SchemasApi).Assembly.GetManifestResourceStream($"Glance.Api.Schemas.{name}.json")
            ?? throw new InvalidOperationException($"Schema resource {name} is missing.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
