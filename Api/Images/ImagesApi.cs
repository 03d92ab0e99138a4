using System.Text.Json;
using Glance.Api.Hosting;
using Glance.Api.Identity;
using Glance.Grains.Catalog;

namespace Glance.Api.Images;

/// <summary>
/// The image metadata endpoints of the Images API v2. Each handler maps HTTP to one grain
/// call and the result back; the rules themselves live in the grains.
/// </summary>
public static class ImagesApi
{
    /// <summary>Maps <c>/v2/images</c> and its sub-resources (tags, actions).</summary>
    public static IEndpointRouteBuilder MapImagesApi(this IEndpointRouteBuilder app)
    {
        var images = app.MapGroup("/v2/images").WithTags("Images");
        images.MapPost("", CreateAsync).WithName("CreateImage").WithSummary("Create an image (201 + Location)");
        images.MapGet("", ListAsync).RejectsBody().WithName("ListImages").WithSummary("List images with filters, sorting and pagination");
        images.MapGet("{id}", ShowAsync).RejectsBody().WithName("ShowImage").WithSummary("Show an image");
        images.MapPatch("{id}", UpdateAsync).WithName("UpdateImage").WithSummary("Update an image with a JSON patch");
        images.MapDelete("{id}", DeleteAsync).RejectsBody().WithName("DeleteImage").WithSummary("Delete an image (204)");
        images.MapPut("{id}/tags/{tag}", TagAsync).RejectsBody().WithName("AddImageTag").WithSummary("Add a tag (204)");
        images.MapDelete("{id}/tags/{tag}", UntagAsync).RejectsBody().WithName("DeleteImageTag").WithSummary("Remove a tag (204)");
        images.MapPost("{id}/actions/deactivate", DeactivateAsync).RejectsBody().WithName("DeactivateImage").WithSummary("Deactivate an image (204)");
        images.MapPost("{id}/actions/reactivate", ReactivateAsync).RejectsBody().WithName("ReactivateImage").WithSummary("Reactivate an image (204)");
        return app;
    }

    /// <summary>The image grain for a path id; a non-UUID id is simply not found, as in Glance.</summary>
    public static IImageGrain Image(this IGrainFactory grains, string id) =>
        Guid.TryParse(id, out var imageId)
            ? grains.GetGrain<IImageGrain>(imageId)
            : throw GlanceException.NotFound($"No image found with ID {id}");

    private static async Task CreateAsync(HttpContext context, IGrainFactory grains, Microsoft.Extensions.Options.IOptions<ImportOptions> import)
    {
        // Glance's create needs a body ({} will do): none at all is 400 "Body expected in request.".
        using var body = await RequestBody.ReadJsonAsync(context.Request)
            ?? throw GlanceException.BadRequest("Body expected in request.");
        var root = body?.RootElement;
        if (root is { } element && element.ValueKind != JsonValueKind.Object)
        {
            throw GlanceException.BadRequest("Request body must be a JSON object.");
        }
        var attributes = ImmutableDictionary.CreateBuilder<string, string>();
        var id = Guid.NewGuid();
        if (root is { } fields)
        {
            foreach (var field in fields.EnumerateObject())
            {
                attributes[field.Name] = field.Value.GetRawText();
            }
            if (fields.TryGetProperty("id", out var given))
            {
                id = given.ValueKind == JsonValueKind.String && Guid.TryParse(given.GetString(), out var parsed) && given.GetString()!.Length == 36
                    ? parsed
                    : throw GlanceException.BadRequest($"Provided object does not match schema 'image': {given.GetRawText()} does not match the UUID pattern in 'id'");
            }
        }
        var image = await grains.GetGrain<IImageGrain>(id).CreateAsync(context.Caller(), new ImageDraft(attributes.ToImmutable()));
        context.Response.Headers.Location = $"{context.Request.Scheme}://{context.Request.Host}/v2/images/{image.Id}";
        if (import.Value.Methods is { IsEmpty: false } methods)
        {
            context.Response.Headers[ImportApi.ImportMethodsHeader] = string.Join(",", methods);
        }
        await ImageJson.WriteImageAsync(context, image, StatusCodes.Status201Created);
    }

    private static async Task ListAsync(HttpContext context, IGrainFactory grains)
    {
        var query = ListQuery.Parse(context.Request.Query);
        var images = await grains.GetGrain<IImageCatalogGrain>(0).ListAsync(context.Caller(), query);
        // Like Glance: a full page always has a "next", even when nothing follows.
        var (first, next) = ListQuery.Links(context.Request.Query, images.IsEmpty ? null : images[^1].Id);
        var full = query.Limit > 0 && images.Length == query.Limit;
        await ImageJson.WritePageAsync(context, images,
            w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("images");
            },
            ImageJson.WriteImage,
            w =>
            {
                w.WriteEndArray();
                w.WriteString("first", first);
                w.WriteString("schema", "/v2/schemas/images");
                if (full)
                {
                    w.WriteString("next", next);
                }
                w.WriteEndObject();
            });
    }

    private static async Task ShowAsync(HttpContext context, string id, IGrainFactory grains) =>
        await ImageJson.WriteImageAsync(context, await grains.Image(id).GetAsync(context.Caller()));

    private static async Task UpdateAsync(HttpContext context, string id, IGrainFactory grains)
    {
        var mediaType = context.Request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType is not (PatchDocument.V21 or PatchDocument.V20))
        {
            context.Response.Headers["Accept-Patch"] = $"{PatchDocument.V20}, {PatchDocument.V21}";
            throw new GlanceException(ErrorKind.UnsupportedMediaType, $"Unsupported Content-Type: {context.Request.ContentType}. Use {PatchDocument.V21}.");
        }
        var grain = grains.Image(id);
        using var body = await RequestBody.ReadJsonAsync(context.Request);
        var operations = PatchDocument.Parse(body, v20: mediaType == PatchDocument.V20);
        await ImageJson.WriteImageAsync(context, await grain.UpdateAsync(context.Caller(), operations));
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, string id, IGrainFactory grains)
    {
        await grains.Image(id).DeleteAsync(context.Caller());
        return TypedResults.NoContent();
    }

    private static async Task<IResult> TagAsync(HttpContext context, string id, IGrainFactory grains)
    {
        await grains.Image(id).TagAsync(context.Caller(), RawPath.LastSegment(context));
        return TypedResults.NoContent();
    }

    private static async Task<IResult> UntagAsync(HttpContext context, string id, IGrainFactory grains)
    {
        await grains.Image(id).UntagAsync(context.Caller(), RawPath.LastSegment(context));
        return TypedResults.NoContent();
    }

    private static async Task<IResult> DeactivateAsync(HttpContext context, string id, IGrainFactory grains)
    {
        await grains.Image(id).DeactivateAsync(context.Caller());
        return TypedResults.NoContent();
    }

    private static async Task<IResult> ReactivateAsync(HttpContext context, string id, IGrainFactory grains)
    {
        await grains.Image(id).ReactivateAsync(context.Caller());
        return TypedResults.NoContent();
    }
}
