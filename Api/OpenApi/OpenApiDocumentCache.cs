using Glance.Api.Schemas;
using Glance.Grains.Properties;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Glance.Api.OpenApi;

/// <summary>
/// The serialized document, built once and served until the image schema changes (the one part
/// that can: the operator's property definitions): it needs no identity and costs ~100 ms of CPU
/// to build, so a caller must not be able to make the service build it on every request. The
/// key is the image schema's bytes, not the definitions' identity, because an API node of a
/// cluster gets a fresh copy of equal definitions on every call.
/// </summary>
internal sealed class OpenApiDocumentCache(IServiceProvider services, IGrainFactory grains)
{
    private static readonly byte[] BaseImageSchema = SchemasApi.Load("image");
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Built? _last;

    public async Task<byte[]> GetAsync(CancellationToken cancellationToken)
    {
        var imageSchema = ImageSchemaDocument.Build(BaseImageSchema, await grains.PropertyDefinitions().ListAsync());
        if (Fresh(_last, imageSchema) is { } body)
        {
            return body;
        }
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Fresh(_last, imageSchema) is { } built)
            {
                return built;
            }
            var provider = services.GetRequiredKeyedService<IOpenApiDocumentProvider>(GlanceOpenApi.DocumentName);
            var document = await provider.GetOpenApiDocumentAsync(cancellationToken);
            using var stream = new MemoryStream();
            await document.SerializeAsJsonAsync(stream, OpenApiSpecVersion.OpenApi3_1, cancellationToken);
            // Keyed by the schema read before building: were the definitions changed meanwhile, the
            // next request sees a different schema and builds again.
            _last = new Built(imageSchema, stream.ToArray());
            return _last.Body;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static byte[]? Fresh(Built? last, byte[] imageSchema) =>
        last is not null && last.ImageSchema.AsSpan().SequenceEqual(imageSchema) ? last.Body : null;

    private sealed record Built(byte[] ImageSchema, byte[] Body);
}
